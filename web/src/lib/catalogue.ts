/**
 * The relay's reference data the forms are drawn from: GET /v1/formats (each format's fields) and
 * GET /v1/event-types (names, channels, template variables). Fetched once per page load.
 */
import { api, ok, type paths } from '../api/client';
import { useLoad, type Loaded } from './use-load';

export type Formats = paths['/v1/formats']['get']['responses'][200]['content']['application/json'];
export type FormatInfo = Formats['data'][number];
export type FieldInfo = FormatInfo['fields'][number];
export type EventType = paths['/v1/event-types']['get']['responses'][200]['content']['application/json']['data'][number];

let formats: Promise<Formats> | undefined;
let eventTypes: Promise<EventType[]> | undefined;

export function useFormats(): Loaded<Formats> {
  return useLoad(() => (formats ??= ok(api.GET('/v1/formats')).catch((e) => ((formats = undefined), Promise.reject(e)))), []);
}

export function useEventTypes(): Loaded<EventType[]> {
  return useLoad(
    () =>
      (eventTypes ??= ok(api.GET('/v1/event-types', { params: { query: {} } }))
        .then((r) => r.data)
        .catch((e) => ((eventTypes = undefined), Promise.reject(e)))),
    [],
  );
}
