/** Asks the enforcer to converge now (fire and forget: the scheduled run is the safety net). */
export interface EnforcementTrigger {
  trigger(reason: string): Promise<void>;
}

/** A trigger that records calls: tests and dry runs. */
export class RecordingEnforcementTrigger implements EnforcementTrigger {
  readonly reasons: string[] = [];
  async trigger(reason: string): Promise<void> {
    this.reasons.push(reason);
  }
}
