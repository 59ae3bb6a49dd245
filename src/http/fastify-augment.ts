declare module 'fastify' {
  interface FastifyRequest {
    /** The workspace the request's key belongs to, once authenticated. */
    workspaceId: string | undefined;
  }
}

export {};
