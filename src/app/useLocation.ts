import { useEffect, useState } from 'react';
import { locationService } from '@grafana/runtime';

// The app's pages are chosen by the URL (Grafana's router mounts the root page for every path under
// /a/<app id>/): follow locationService so links and the browser's back button switch pages.

export interface AppLocation {
  pathname: string;
  query: URLSearchParams;
}

const read = (l: { pathname: string; search: string }): AppLocation => ({ pathname: l.pathname, query: new URLSearchParams(l.search) });

export function useAppLocation(): AppLocation {
  const [loc, setLoc] = useState(() => read(locationService.getLocation()));
  useEffect(() => {
    const sub = locationService.getLocationObservable().subscribe((l) => setLoc(read(l)));
    return () => sub.unsubscribe();
  }, []);
  return loc;
}
