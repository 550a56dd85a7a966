/**
 * The analyst console: sign-in (the key is exchanged for an HttpOnly session cookie), then
 * overview, review queue, flags, account pages, rules, revocations and the policy audit. Every
 * value is rendered as text by Preact (no HTML is built from data).
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type Me, signIn, signOut, whoAmI } from './api.ts';
import { AccountPage } from './pages/account.tsx';
import { AuditPage, RevocationsPage } from './pages/audit.tsx';
import { FlagsPage } from './pages/flags.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { ReviewsPage } from './pages/reviews.tsx';
import { RulesPage } from './pages/rules.tsx';
import './styles.css';

const NAV: Array<[string, string]> = [
  ['overview', 'Overview'],
  ['reviews', 'Review queue'],
  ['flags', 'Flags'],
  ['rules', 'Rules'],
  ['revocations', 'Revocations'],
  ['audit', 'Policy audit'],
];

function useRoute(): string[] {
  const parse = () => (location.hash.replace(/^#\/?/, '') || 'overview').split('/').map(decodeURIComponent);
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  async function submit(e: Event) {
    e.preventDefault();
    try {
      onSignedIn(await signIn(key));
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <div class="signin">
      <form onSubmit={submit} class="signin-box">
        <div class="brand big">
          <span class="logo">◆</span> leechguard
        </div>
        <p class="muted">
          Sign in with your analyst or operator key. It is exchanged once for a session cookie this page
          cannot read.
        </p>
        <input
          type="password"
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          placeholder="API key"
          autocomplete="off"
          name="key"
          required
        />
        <button type="submit" class="primary" data-act="sign-in">
          Sign in
        </button>
        {error && <div class="error">{error}</div>}
      </form>
    </div>
  );
}

function Page({ route, me }: { route: string[]; me: Me }) {
  const [name, arg] = route;
  switch (name) {
    case 'reviews':
      return <ReviewsPage me={me.name} />;
    case 'flags':
      return <FlagsPage />;
    case 'account':
      return <AccountPage id={arg ?? ''} />;
    case 'rules':
      return <RulesPage />;
    case 'revocations':
      return <RevocationsPage />;
    case 'audit':
      return <AuditPage />;
    default:
      return <OverviewPage />;
  }
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const route = useRoute();
  const [search, setSearch] = useState('');
  useEffect(() => {
    whoAmI().then(setMe);
  }, []);
  if (me === undefined) return null;
  if (me === null) return <SignIn onSignedIn={setMe} />;
  return (
    <div class="shell">
      <aside class="side">
        <div class="side-inner">
          <div class="brand">
            <span class="logo">◆</span> leechguard
          </div>
          <nav>
            {NAV.map(([id, label]) => (
              <a
                key={id}
                href={`#/${id}`}
                class={
                  route[0] === id ||
                  (id === 'overview' && !NAV.some(([n]) => n === route[0]) && route[0] !== 'account')
                    ? 'active'
                    : ''
                }
              >
                {label}
              </a>
            ))}
          </nav>
          <form
            class="search"
            onSubmit={(e) => {
              e.preventDefault();
              if (search.trim()) location.hash = `#/account/${encodeURIComponent(search.trim())}`;
            }}
          >
            <input
              value={search}
              onInput={(e) => setSearch(e.currentTarget.value)}
              placeholder="Go to account…"
              name="account-search"
            />
          </form>
          <div class="me">
            <div>{me.name}</div>
            <div class="muted small">{me.roles.join(', ')}</div>
            <button
              type="button"
              class="small"
              data-act="sign-out"
              onClick={async () => {
                await signOut();
                setMe(null);
              }}
            >
              Sign out
            </button>
          </div>
        </div>
      </aside>
      <main>
        <Page route={route} me={me} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
