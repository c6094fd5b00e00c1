//! The outbox worker's slots: the delivery attempts under way, each a task of its own,
//! counted in total (`[webhooks] max_in_flight`) and per receiver host (`[webhooks]
//! max_in_flight_per_receiver`, kept as the [`ReceiverBudget`] the next claim is made
//! within). An attempt that hangs holds one slot, never the others.

use crate::store::ReceiverBudget;
use std::collections::HashMap;
use std::future::Future;
use tokio::task::{Id, JoinSet};

/// The attempts under way and what they leave free.
pub struct InFlight {
    tasks: JoinSet<()>,
    /// Each task's receiver host, to give its slot back however the task ended.
    receivers: HashMap<Id, String>,
    budget: ReceiverBudget,
    max: usize,
}

impl InFlight {
    /// No attempt under way; at most `max` at once, `per_receiver` of them to one host.
    pub fn new(max: usize, per_receiver: usize) -> Self {
        Self {
            tasks: JoinSet::new(),
            receivers: HashMap::new(),
            budget: ReceiverBudget::new(per_receiver),
            max,
        }
    }

    /// How many more attempts may start.
    pub fn free(&self) -> usize {
        self.max.saturating_sub(self.tasks.len())
    }

    /// Whether no attempt is under way.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// What each receiver host may still be handed.
    pub fn budget(&self) -> &ReceiverBudget {
        &self.budget
    }

    /// Starts an attempt at `receiver` in a slot of its own.
    pub fn start(&mut self, receiver: String, attempt: impl Future<Output = ()> + Send + 'static) {
        self.budget.take(&receiver);
        let handle = self.tasks.spawn(attempt);
        self.receivers.insert(handle.id(), receiver);
    }

    /// Waits for one attempt to end, then collects any others that ended too, giving
    /// their slots back. Returns at once when none is under way.
    pub async fn finished(&mut self) {
        let Some(first) = self.tasks.join_next_with_id().await else {
            return;
        };
        self.release(first);
        while let Some(next) = self.tasks.try_join_next_with_id() {
            self.release(next);
        }
    }

    /// Waits for every attempt under way to end (shutdown).
    pub async fn drain(&mut self) {
        while let Some(done) = self.tasks.join_next_with_id().await {
            self.release(done);
        }
    }

    fn release(&mut self, done: Result<(Id, ()), tokio::task::JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            Err(error) => {
                // The attempt's row keeps its lease and is taken again when it runs out.
                tracing::error!(%error, "outbox: a delivery attempt ended abnormally");
                error.id()
            }
        };
        if let Some(receiver) = self.receivers.remove(&id) {
            self.budget.give_back(&receiver);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_taken_per_receiver_and_given_back_when_an_attempt_ends() {
        let mut in_flight = InFlight::new(3, 2);
        let (release, released) = tokio::sync::watch::channel(false);
        for host in ["a.example", "a.example", "b.example"] {
            let mut released = released.clone();
            in_flight.start(host.to_owned(), async move {
                let _ = released.wait_for(|done| *done).await;
            });
        }
        assert_eq!(in_flight.free(), 0);
        assert_eq!(in_flight.budget().remaining("a.example"), 0);
        assert_eq!(in_flight.budget().remaining("b.example"), 1);
        assert_eq!(in_flight.budget().remaining("c.example"), 2);
        release.send(true).unwrap();
        in_flight.drain().await;
        assert!(in_flight.is_empty());
        assert_eq!(in_flight.free(), 3);
        assert_eq!(in_flight.budget().remaining("a.example"), 2);
        assert_eq!(in_flight.budget().hosts().count(), 0);
        // A task that panics gives its slot back too.
        in_flight.start("a.example".into(), async { panic!("boom") });
        in_flight.finished().await;
        assert_eq!(in_flight.budget().remaining("a.example"), 2);
    }
}
