export * from './access.ts';
export * from './events.ts';
export * from './identity.ts';
export * from './pass.ts';
export * from './roles.ts';
export * from './services.ts';
export * from './text.ts';
