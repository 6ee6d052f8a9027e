/**
 * Every page of the dashboard: the navigation and the route table. A page is a component in
 * pages/ taking its path parameters and query; add a line here to add one.
 */
import type { FunctionComponent } from 'preact';
import { Overview } from './pages/overview';
import { CallbackList } from './pages/callbacks/list';
import { CallbackEditor } from './pages/callbacks/editor';
import { CallbackDetail } from './pages/callbacks/detail';
import { Deliveries } from './pages/deliveries';
import { DeliveryPage } from './pages/delivery';
import { EventPage } from './pages/event';
import { Events } from './pages/events';
import { Alerts } from './pages/alerts';
import { Notices } from './pages/notices';
import { Settings } from './pages/settings';

export interface PageProps {
  /** `:name` parts of the route's pattern. */
  params: Record<string, string>;
  query: URLSearchParams;
}

export interface RouteDef {
  pattern: string;
  page: FunctionComponent<PageProps>;
  /** The document title's first part. */
  title: string;
}

/** First match wins: put `/callbacks/new` before `/callbacks/:id`. */
export const ROUTES: RouteDef[] = [
  { pattern: '/', page: Overview, title: 'Overview' },
  { pattern: '/callbacks', page: CallbackList, title: 'Callbacks' },
  { pattern: '/callbacks/new', page: CallbackEditor, title: 'New callback' },
  { pattern: '/callbacks/:id/edit', page: CallbackEditor, title: 'Edit callback' },
  { pattern: '/callbacks/:id', page: CallbackDetail, title: 'Callback' },
  { pattern: '/deliveries', page: Deliveries, title: 'Deliveries' },
  { pattern: '/deliveries/:id', page: DeliveryPage, title: 'Delivery' },
  { pattern: '/events', page: Events, title: 'Events' },
  { pattern: '/events/:id', page: EventPage, title: 'Event' },
  { pattern: '/alerts', page: Alerts, title: 'Alerts' },
  { pattern: '/notices', page: Notices, title: 'Notices' },
  { pattern: '/settings', page: Settings, title: 'Settings' },
];

export const NAV: { path: string; label: string }[] = [
  { path: '/', label: 'Overview' },
  { path: '/callbacks', label: 'Callbacks' },
  { path: '/deliveries', label: 'Deliveries' },
  { path: '/events', label: 'Events' },
  { path: '/alerts', label: 'Alerts' },
  { path: '/notices', label: 'Notices' },
  { path: '/settings', label: 'Settings' },
];
