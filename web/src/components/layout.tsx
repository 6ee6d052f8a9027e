/** The frame of every signed-in page: the navigation, who is signed in, Sign out, and the page. */
import type { ComponentChildren } from 'preact';
import { NAV } from '../routes';
import { href } from '../router';
import { signOut, type Session } from '../session';

export function Layout({ session, path, children }: { session: Session; path: string; children: ComponentChildren }) {
  const active = (to: string) => (to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`));
  return (
    <div class="shell">
      {/* Not href="#main": the hash is the route. */}
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="topbar">
        <a class="brand" href={href('/')}>
          callback-relay
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li>
                <a href={href(n.path)} aria-current={active(n.path) ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span title={`account ${session.account_id}`}>{session.api_user}</span>
          <button type="button" class="secondary small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
