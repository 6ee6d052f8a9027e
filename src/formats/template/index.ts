/**
 * Format `template` (Kaleyra-style callback profiles, docs/formats/template.md): the customer shapes
 * the request — method, URL, headers, query and body are templates with `{{name}}`,
 * `{{data.path}}` or `<name>` placeholders, each value escaped for where it lands — plus static
 * auth, per-value or whole-body encryption, and a success rule. Pure: the callback's
 * secrets arrive opened (store/sealing.ts).
 *
 * format (the FormatModule: fields, settings, save checks), types (settings), variables (what
 * templates may use), parse (templates into parts), escape (per context), render (the request),
 * sample (test and save-time events), validate (rendered bodies).
 */
export { templateFormat } from './format.js';
export * from './types.js';
export { sampleEvent } from './sample.js';
