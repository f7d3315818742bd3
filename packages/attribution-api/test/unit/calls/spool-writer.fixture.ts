// A service process that spools call events: `node --import tsx spool-writer.fixture.ts <dir> <count> [hold]`.
// Prints `ack <seq>` after each append returns; with `hold`, prints `held` and stays alive until stdin closes.
import { CallSpool } from '../../../src/calls/spool.ts';

const [dir = '', count = '0', mode = 'run'] = process.argv.slice(2);
const spool = new CallSpool({ dir });
for (let seq = 0; seq < Number(count); seq++) {
  spool.append({ seq, pid: process.pid, call_sid: `CA${String(seq).padStart(32, '0')}` });
  process.stdout.write(`ack ${seq}\n`);
}
if (mode === 'hold') {
  process.stdout.write('held\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}
