/** The app: resume the session, then sign-in or the signed-in layout with the page of the hash route. */
import { useEffect, useState } from 'preact/hooks';
import { ROUTES } from './routes';
import { match, useLocation } from './router';
import { resumeSession, useSession } from './session';
import { Layout } from './components/layout';
import { SignIn } from './pages/sign-in';
import { ErrorNotice } from './components/form';
import { asFailure } from './lib/use-load';
import type { ApiFailure } from './api/client';

export function App() {
  const session = useSession();
  const loc = useLocation();
  const [ready, setReady] = useState(false);
  const [failure, setFailure] = useState<ApiFailure>();
  useEffect(() => {
    resumeSession()
      .catch((err) => setFailure(asFailure(err)))
      .finally(() => setReady(true));
  }, []);

  let found: { route: (typeof ROUTES)[number]; params: Record<string, string> } | undefined;
  for (const route of ROUTES) {
    const params = match(route.pattern, loc.path);
    if (params) {
      found = { route, params };
      break;
    }
  }
  useEffect(() => {
    document.title = `${session ? (found?.route.title ?? 'Not found') : 'Sign in'} · callback-relay`;
  }, [session, found?.route.title]);

  if (!ready) return null;
  if (!session) return <SignIn failure={failure} />;
  const Page = found?.route.page;
  return (
    <Layout session={session} path={loc.path}>
      {Page && found ? (
        <Page key={loc.path} params={found.params} query={loc.query} />
      ) : (
        <ErrorNotice error={`No page at ${loc.path}.`} />
      )}
    </Layout>
  );
}
