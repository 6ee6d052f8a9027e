/** Sign-in: an api user and key for a session cookie. The key leaves this page only in that request. */
import { useState } from 'preact/hooks';
import type { ApiFailure } from '../api/client';
import { ErrorNotice, TextField } from '../components/form';
import { asFailure } from '../lib/use-load';
import { signIn } from '../session';

export function SignIn({ failure }: { failure?: ApiFailure | undefined }) {
  const [user, setUser] = useState('');
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure | undefined>(failure);
  return (
    <main class="sign-in" id="main">
      <form
        class="card"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            await signIn(user, key);
          } catch (err) {
            const f = asFailure(err);
            setError(f.status === 401 ? asFailure(new Error('The api user or key is wrong.')) : f);
          } finally {
            setKey('');
            setBusy(false);
          }
        }}
      >
        <h1>callback-relay</h1>
        <p class="help">Sign in with an api user and its key. The key is sent once and never stored in this browser.</p>
        <ErrorNotice error={error} />
        <TextField label="API user" name="api_user" value={user} onValue={setUser} required autoComplete="username" />
        <TextField label="API key" name="api_key" type="password" value={key} onValue={setKey} required autoComplete="current-password" />
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
