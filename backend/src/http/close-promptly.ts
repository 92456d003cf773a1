import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Makes the server's close wait only for requests under way, not for connections that carry none.
 *
 * Important: Node's close ends the connections idle between two requests, but not
 * - a connection that has not sent a request yet (a browser's or an HTTP client's preconnect, or
 *   one whose request was given up before it was written): Node keeps it until its headers
 *   timeout, 60–90 s;
 * - a connection that goes idle after the close began (an event stream ended by its preClose
 *   hook, a request that was under way): it stays for the keep-alive timeout, Fastify's 72 s.
 * A backend instance being restarted or replaced waited that long with its apps connected
 * (cache-drills.test.ts took 72 s per drill that restarts a backend).
 */
export function closePromptly(app: FastifyInstance): void {
  const withoutRequest = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    withoutRequest.add(socket);
    socket.once('close', () => withoutRequest.delete(socket));
  });
  app.server.on('request', (request: { socket: Socket }) => withoutRequest.delete(request.socket));
  app.addHook('preClose', async () => {
    // Node reads it when a response finishes: from now on a connection that goes idle closes.
    app.server.keepAliveTimeout = 1;
    for (const socket of withoutRequest) socket.destroy();
  });
}
