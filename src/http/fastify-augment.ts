declare module 'fastify' {
  interface FastifyRequest {
    /** The workspace the request's key belongs to, once authenticated. */
    workspaceId: string | undefined;
    /**
     * Whether the credentials the request came with still hold (the key not revoked, the
     * dashboard session not ended): long-lived responses (the live stream) ask again as they go.
     */
    stillAuthorized: (() => boolean) | undefined;
  }
}

export {};
