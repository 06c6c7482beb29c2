import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'parley:public';

/** Opts a route out of the global default-deny authentication. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
