/**
 * Scripts the list and watch requests of one collection on a ScriptedServer: each list request takes
 * the next answer from `lists`, each watch request the next script from `watches`. When a queue runs
 * out, lists answer the last list again and watches are accepted and left open with nothing sent
 * (a quiet watch), so a test decides everything that happens, and nothing happens by accident.
 */
import type { RecordedRequest, Reply, ScriptedServer, WatchStream } from './scripted-server.ts';

export type ListAnswer =
  | { items: unknown[]; resourceVersion: string; continue?: string }
  | ((reply: Reply, req: RecordedRequest) => void);
export type WatchScript = (stream: WatchStream, req: RecordedRequest) => Promise<void> | void;
/** A watch answered without a stream (a status, a reset). */
export type WatchAnswer = WatchScript | { answer: (reply: Reply) => void };

export class ListWatch {
  readonly lists: ListAnswer[] = [];
  readonly watches: WatchAnswer[] = [];
  /** Streams of watches left open (quiet), newest last. */
  readonly open: WatchStream[] = [];
  #last: ListAnswer | undefined;

  constructor(server: ScriptedServer, path: string) {
    server.on('GET', path, async (req, reply) => {
      if (req.query.watch) {
        const next = this.watches.shift();
        if (next && 'answer' in next) return next.answer(reply);
        const stream = reply.watch();
        if (next) await next(stream, req);
        else this.open.push(stream);
        return;
      }
      const answer = this.lists.shift() ?? this.#last;
      this.#last = answer;
      if (!answer) return reply.fail(500, 'InternalError', 'no list scripted');
      if (typeof answer === 'function') return answer(reply, req);
      reply.json({
        kind: 'List',
        apiVersion: 'v1',
        metadata: {
          resourceVersion: answer.resourceVersion,
          ...(answer.continue ? { continue: answer.continue } : {}),
        },
        items: answer.items,
      });
    });
  }
}

/** The list and watch requests a server received for `path`. */
export function listsAndWatches(
  server: ScriptedServer,
  path: string,
): { lists: RecordedRequest[]; watches: RecordedRequest[] } {
  const all = server.matching('GET', path);
  return { lists: all.filter((r) => !r.query.watch), watches: all.filter((r) => r.query.watch) };
}
