// Client-side navigation between the admin pages: the path picks the page, links push
// history entries, and a one-shot "flash" message can travel with a navigation.
import { createContext, useCallback, useContext, useEffect, useState } from 'react';

const RouterContext = createContext(null);

export function Router({ children }) {
  const [location, setLocation] = useState({ path: window.location.pathname, search: window.location.search, flash: null });

  useEffect(() => {
    const onPop = () => setLocation({ path: window.location.pathname, search: window.location.search, flash: null });
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const navigate = useCallback((to, flash = null) => {
    const url = new URL(to, window.location.origin);
    window.history.pushState({}, '', url.pathname + url.search);
    setLocation({ path: url.pathname, search: url.search, flash });
    window.scrollTo(0, 0);
  }, []);

  return <RouterContext.Provider value={{ ...location, navigate }}>{children}</RouterContext.Provider>;
}

export function useRouter() {
  return useContext(RouterContext);
}

export function Link({ to, className, children, ...rest }) {
  const { navigate } = useRouter();
  const onClick = (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} className={className} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}

/** The page for a path: [component, params] of the first pattern that matches. */
export function match(routes, path) {
  const parts = path.replace(/\/+$/, '').split('/').filter(Boolean);
  for (const [pattern, component] of routes) {
    const want = pattern.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    const ok = want.every((piece, index) => {
      if (piece.startsWith(':')) {
        params[piece.slice(1)] = decodeURIComponent(parts[index]);
        return true;
      }
      return piece === parts[index];
    });
    if (ok) return [component, params];
  }
  return [null, {}];
}
