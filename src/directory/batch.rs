//! Writes gathered into batch requests: Microsoft Graph's JSON `$batch` and SCIM's
//! `/Bulk` carry many writes in one HTTP request, and [`Batcher`] turns the writes that
//! [`crate::apply`] has in flight at once into such batches without the caller knowing.
//!
//! Each write is submitted on its own and awaits its own result, as if it were sent
//! alone, so everything a single write does around it (a create taking its next free
//! name, a warning, failure isolation) stays as it is. The first write of a group to
//! run after the others had their turn sends the batch for all that are waiting, in the
//! order they were submitted, up to the batch's limits; its result goes to each write.
//! Writes that depend on each other are in one batch only where the directory resolves
//! the references itself (SCIM's `bulkId:`; [`crate::directory::Directory::references_in_flight`]);
//! otherwise [`crate::apply`] submits a report's create only after its manager's has its
//! answer. Batching knows nothing of HTTP: a directory says how a batch is sent and how
//! its answer splits.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;

use tokio::sync::oneshot;

/// How large a batch may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Writes in one batch (Graph: 20; SCIM: the server's `maxOperations`).
    pub operations: usize,
    /// Bytes of the writes in one batch, as [`Batcher::submit`]'s `size` counts them
    /// (SCIM: the server's `maxPayloadSize`, less room for the envelope). A write larger
    /// than this alone is still sent, alone: the directory sends those without a batch.
    pub bytes: usize,
}

struct Waiting<Op, R> {
    ticket: u64,
    op: Op,
    size: usize,
    done: oneshot::Sender<R>,
}

struct Queue<Op, R> {
    next: u64,
    waiting: VecDeque<Waiting<Op, R>>,
}

/// Gathers writes of type `Op`, with results of type `R`, into batches.
pub struct Batcher<Op, R> {
    limits: Limits,
    queue: Mutex<Queue<Op, R>>,
}

impl<Op, R> std::fmt::Debug for Batcher<Op, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").field("limits", &self.limits).finish()
    }
}

impl<Op: Send, R: Send> Batcher<Op, R> {
    /// A batcher making batches within `limits` (at least one write each).
    pub fn new(limits: Limits) -> Self {
        let limits = Limits { operations: limits.operations.max(1), bytes: limits.bytes.max(1) };
        Batcher { limits, queue: Mutex::new(Queue { next: 0, waiting: VecDeque::new() }) }
    }

    /// The limits batches are made within.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sends `op` in a batch with the writes waiting beside it and returns its result.
    ///
    /// `size` is what the write counts against [`Limits::bytes`]. `send` sends one batch
    /// and returns one result per write, in order: it matches the server's answers to
    /// the writes by their ids, never by position. When it returns another number of
    /// results, no result can be trusted to be whose it seems, and every write of that
    /// batch gets `missing()`; so does a write whose batch was abandoned (the future that
    /// sent it was dropped).
    pub async fn submit<F, Fut>(&self, op: Op, size: usize, send: F, missing: impl Fn() -> R) -> R
    where
        F: Fn(Vec<Op>) -> Fut,
        Fut: Future<Output = Vec<R>>,
    {
        let (done, mut result) = oneshot::channel();
        let ticket = {
            let mut queue = self.lock();
            let ticket = queue.next;
            queue.next += 1;
            queue.waiting.push_back(Waiting { ticket, op, size, done });
            ticket
        };
        // The writes submitted beside this one join the queue meanwhile.
        tokio::task::yield_now().await;
        loop {
            let batch = {
                let mut queue = self.lock();
                // Writes leave the queue from its front, in the order of their tickets:
                // this one has left it when the queue is empty or its front is past it.
                if queue.waiting.front().is_none_or(|w| w.ticket > ticket) {
                    break;
                }
                self.take(&mut queue)
            };
            let (ops, senders): (Vec<Op>, Vec<oneshot::Sender<R>>) =
                batch.into_iter().map(|w| (w.op, w.done)).unzip();
            let results = send(ops).await;
            let mut results = (results.len() == senders.len()).then(|| results.into_iter());
            for sender in senders {
                let result = results.as_mut().and_then(Iterator::next).unwrap_or_else(&missing);
                // A write whose caller is gone has no one to tell.
                let _ = sender.send(result);
            }
        }
        match result.try_recv() {
            Ok(r) => r,
            Err(oneshot::error::TryRecvError::Empty) => (&mut result).await.unwrap_or_else(|_| missing()),
            Err(oneshot::error::TryRecvError::Closed) => missing(),
        }
    }

    /// The first writes waiting, as many as the limits allow (at least one).
    fn take(&self, queue: &mut Queue<Op, R>) -> Vec<Waiting<Op, R>> {
        let mut batch = Vec::new();
        let mut bytes = 0usize;
        while let Some(next) = queue.waiting.front() {
            let full = batch.len() >= self.limits.operations
                || (!batch.is_empty() && bytes.saturating_add(next.size) > self.limits.bytes);
            if full {
                break;
            }
            bytes = bytes.saturating_add(next.size);
            batch.extend(queue.waiting.pop_front());
        }
        batch
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<Op, R>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::sync::Arc;

    /// Submits `n` writes with `in_flight` at once, as apply does, and returns the
    /// batches sent (the writes of each) and every write's result.
    async fn run(n: usize, in_flight: usize, limits: Limits, size: usize) -> (Vec<Vec<usize>>, Vec<String>) {
        let batcher = Batcher::new(limits);
        let sent: Arc<Mutex<Vec<Vec<usize>>>> = Arc::default();
        let results: Vec<String> = futures::stream::iter(0..n)
            .map(|i| {
                let (batcher, sent) = (&batcher, Arc::clone(&sent));
                async move {
                    batcher
                        .submit(
                            i,
                            size,
                            |ops: Vec<usize>| {
                                let sent = Arc::clone(&sent);
                                async move {
                                    tokio::task::yield_now().await;
                                    sent.lock().unwrap().push(ops.clone());
                                    // The server answers all but write 5.
                                    ops.iter().filter(|&&op| op != 5).map(|op| format!("done {op}")).collect()
                                }
                            },
                            || "missing".to_owned(),
                        )
                        .await
                }
            })
            .buffered(in_flight)
            .collect()
            .await;
        // Batches are in flight together and finish in any order; each is made in order.
        let mut sent = sent.lock().unwrap().clone();
        sent.sort();
        (sent, results)
    }

    #[tokio::test]
    async fn writes_in_flight_at_once_go_in_batches_within_the_limits_and_each_gets_its_own_result() {
        let (sent, results) = run(50, 50, Limits { operations: 20, bytes: usize::MAX }, 1).await;
        let sizes: Vec<usize> = sent.iter().map(Vec::len).collect();
        assert_eq!(sizes, [20, 20, 10], "{sent:?}");
        // In the order submitted.
        assert_eq!(sent.concat(), (0..50).collect::<Vec<_>>());
        // A short answer makes every write of its batch missing, never another's result.
        assert!(results[..20].iter().all(|r| r == "missing"), "{results:?}");
        assert_eq!(results[20], "done 20");
        assert_eq!(results[49], "done 49");
    }

    #[tokio::test]
    async fn batches_stay_under_the_byte_limit_and_a_write_is_never_held_back() {
        let (sent, results) = run(10, 10, Limits { operations: 100, bytes: 250 }, 100).await;
        assert!(sent.iter().all(|b| b.len() == 2), "{sent:?}");
        assert_eq!(results.len(), 10);
        // One write larger than the limit is sent, alone.
        let (sent, _) = run(3, 3, Limits { operations: 100, bytes: 10 }, 100).await;
        assert_eq!(sent, [vec![0], vec![1], vec![2]]);
    }

    #[tokio::test]
    async fn one_write_at_a_time_is_a_batch_of_one() {
        let (sent, results) = run(3, 1, Limits { operations: 20, bytes: usize::MAX }, 1).await;
        assert_eq!(sent, [vec![0], vec![1], vec![2]]);
        assert_eq!(results, ["done 0", "done 1", "done 2"]);
    }
}
