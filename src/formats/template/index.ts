/**
 * Format `template` (Kaleyra-style callback profiles, docs/formats/template.md): the customer shapes
 * the request — method, URL, headers, query and body are templates with `{{name}}`,
 * `{{data.path}}` or `<name>` placeholders, each value escaped for where it lands — plus static
 * auth, per-value or whole-body encryption, and a success rule. Pure: the callback's
 * secrets arrive opened (store/sealing.ts).
 *
 * types (settings), variables (what templates may use), parse (templates into parts), escape (per
 * context), render (the request), sample (test and save-time events), validate (rendered bodies).
 */
export * from './types.js';
export { channelEvents, offeredVariables } from './variables.js';
export { TemplateError, templateVariables, type TemplateKind } from './parse.js';
export { DEFAULT_QUERY, carriesBody, checkTemplate, defaultBody, renderTemplate } from './render.js';
export { sampleEvent } from './sample.js';
export { bodyProblem } from './validate.js';
