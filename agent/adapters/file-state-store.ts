/** AgentStateStore on a JSON file, written atomically (temp file + rename). */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type AgentState, type AgentStateStore, INITIAL_STATE } from '../ports.js';

export class FileStateStore implements AgentStateStore {
  constructor(readonly path: string) {}

  read(): AgentState {
    if (!existsSync(this.path)) return INITIAL_STATE;
    try {
      const raw = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<AgentState>;
      const serial = raw.appliedSerial;
      return {
        ...INITIAL_STATE,
        ...raw,
        appliedSerial: typeof serial === 'number' && Number.isSafeInteger(serial) ? serial : null,
      };
    } catch (e) {
      throw new Error(`agent state file ${this.path} is unreadable: ${(e as Error).message}`);
    }
  }

  write(state: AgentState): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
    renameSync(tmp, this.path);
  }
}
