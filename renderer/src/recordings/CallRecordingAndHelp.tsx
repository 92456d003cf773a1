import type { Call } from '../phone/call-machine.js';
import { HelpButton } from '../help/HelpButton.js';
import { CallRecordingControl } from './CallRecordingControl.js';

/** The call card's row for an answered call with a customer: its recording and "ask for help". */
export function CallRecordingAndHelp({ call }: { call: Call }) {
  if (call.consultFor !== null || (call.state !== 'connected' && call.state !== 'held')) return null;
  return (
    <div className="call-compliance" data-testid="call-compliance">
      <CallRecordingControl sipCallId={call.sipCallId} />
      <HelpButton sipCallId={call.sipCallId} />
    </div>
  );
}
