import { pick, type Scenario } from '../context.js';

/**
 * POST /v1/chat/send, which answers once the reply is complete: each request is a whole
 * send → queue → worker → reply completed round trip, so requests/s is replies completed per second.
 */
function sendToReply(delayMs: number): Scenario {
  return {
    name: `send-to-reply-${delayMs}ms`,
    description: `chat/send waiting for the reply; local responder at ${delayMs} ms per token, 64 replies at once per worker`,
    target: 'parley',
    // Their sessions have no reply pending (the `send` scenario leaves a backlog in the senders').
    users: 'readers',
    parleyEnv: { LOCAL_LLM_DELAY_MS: String(delayMs), REPLY_CONCURRENCY: '64' },
    requests: ({ users }) => [
      {
        method: 'POST',
        setupRequest: (request) => {
          const user = pick(users);
          return {
            ...request,
            path: '/v1/chat/send',
            headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ message: 'How far is the moon from the earth?', sessionId: user.sessionId }),
          };
        },
      },
    ],
  };
}

export const sendToReply0ms = sendToReply(0);
export const sendToReply20ms = sendToReply(20);
