// Who is signed in (GET /api/me): their email, their role, and whether they may change
// anything. Members may look; only owners and admins see the controls that change things.
import { createContext, useContext } from 'react';

export const SessionContext = createContext({ user: null, may_change: false });

export function useSession() {
  return useContext(SessionContext);
}

export function SignedOut({ reason }) {
  return (
    <div className="card narrow" data-testid="signed-out">
      <h1>Sign in</h1>
      {reason ? <p>{reason}</p> : null}
      <p>These pages show personal data and can change integrations, so they need a signed-in user.</p>
      <p>
        On the machine running the host, run <code>fortytwomin-snov users login YOUR-EMAIL</code> and open the link it prints. It
        works once, within 15 minutes.
      </p>
      <p className="fine-print">
        No user yet? An owner adds one with <code>fortytwomin-snov users add EMAIL --role member</code>.
      </p>
    </div>
  );
}
