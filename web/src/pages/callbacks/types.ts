import type { paths } from '../../api/client';

export type Callback = paths['/v1/callbacks/{id}']['get']['responses'][200]['content']['application/json'];
export type CallbackBody = NonNullable<paths['/v1/callbacks']['post']['requestBody']>['content']['application/json'];
export type TestResult = paths['/v1/callbacks/test']['post']['responses'][200]['content']['application/json'];
