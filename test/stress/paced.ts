/**
 * The paced load of the upstream faults run, in a process of its own: for each message
 * { port, perSecond, ms } from the parent it sends for ms, waits for the replies still due,
 * and sends the figures back.
 */
import { PacedLoad } from './faults.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

process.on('message', (m: { port: number; perSecond: number; ms: number }) => {
  void (async () => {
    const load = new PacedLoad(m.port);
    await load.start(m.perSecond);
    await sleep(m.ms);
    load.stop();
    const figures = await load.result(0);
    load.close();
    process.send!(figures);
  })();
});
process.on('disconnect', () => process.exit(0));
process.send!('ready');
