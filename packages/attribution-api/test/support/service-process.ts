import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const SERVER = path.join(ROOT, 'packages/attribution-api/src/server.ts');

/** The service as `npm start` runs it, as a child process: for tests that stop, kill and restart it. */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  output = '';
  base = '';

  /** `env` must name a STATE_DIR: the service writes its address there once it listens. */
  constructor(private readonly env: Record<string, string>) {}

  private get demoFile(): string {
    return path.join(this.env.STATE_DIR ?? '', 'demo-telephony.json');
  }

  async start(timeoutMs = 30_000): Promise<void> {
    rmSync(this.demoFile, { force: true });
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, ['--import', 'tsx', SERVER], { cwd: ROOT, env, stdio: 'pipe' });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-32_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let gone = false;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      gone = true;
    });
    // Written once the service listens: its address and the demo account's Twilio token.
    const deadline = performance.now() + timeoutMs;
    while (!existsSync(this.demoFile)) {
      if (gone) throw new Error(`the service exited during start-up:\n${this.output}`);
      if (performance.now() > deadline)
        throw new Error(`the service did not start in ${timeoutMs} ms:\n${this.output}`);
      await sleep(50);
    }
    this.base = this.demo().baseUrl;
  }

  /** The demo account's stand-in Twilio credentials, and where the service listens. */
  demo(): { baseUrl: string; accountSid: string; authToken: string } {
    return JSON.parse(readFileSync(this.demoFile, 'utf8'));
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.alive) this.child?.kill(signal);
    await this.exited;
  }
}
