import { Global, Module } from '@nestjs/common';
import { ClsService, ClsServiceManager } from 'nestjs-cls';

/**
 * The request context's ClsService, for every module. nestjs-cls's own root module would also
 * register a global guard and a global interceptor that do nothing unless mounted; Nest still runs
 * them on every request, and an interceptor layer costs an async resource, a deferred observable
 * and a merge per request. The context is opened by a Fastify hook (registerRequestContext) and by
 * the job runners (runInJobContext), so those two enhancers are left out.
 */
@Global()
@Module({
  providers: [{ provide: ClsService, useValue: ClsServiceManager.getClsService() }],
  exports: [ClsService],
})
export class RequestContextModule {}
