//! Polls of ECS services, shared: a service waited for (its deployment, its drain) is
//! described together with the others of its cluster asked for at the same time, up to 10
//! a call (DescribeServices' limit), instead of one call each. The first to ask goes at
//! once; those who ask while its call is out go together in the next, led by one of them.
//! So 200 services waited for at once poll about 20 times a round, within ECS's 20 reads
//! a second, instead of 200.

use super::error::{cloud, is_code};
use crate::aws::Clients;
use crate::provider::CloudError;
use aws_sdk_ecs::types::{Service, ServiceField};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// A service as ECS describes it now (any status); `None` if ECS has no such service or
/// no such cluster.
type Answer = Result<Option<Service>, CloudError>;

enum Reply {
    Done(Box<Answer>),
    /// The call before yours is back: send the next one, for you and those waiting.
    Lead,
}

/// Who waits for the next call, in the order they asked: (resource, service, reply).
type Waiting = VecDeque<(String, String, oneshot::Sender<Reply>)>;

#[derive(Default)]
struct Queue {
    leading: bool,
    waiting: Waiting,
}

#[derive(Clone, Default)]
struct Polls(Arc<Mutex<Queue>>);

impl Polls {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Service `name` of `cluster`, described with whatever else of the cluster is asked for
/// meanwhile. `id` names the resource in an error.
pub async fn describe(c: &Clients, id: &str, cluster: &str, name: &str) -> Answer {
    let polls = c
        .memo
        .once(&format!("service-polls/{cluster}"), || async {
            Ok::<_, CloudError>(Polls::default())
        })
        .await?
        .unwrap_or_default();
    loop {
        let rx = {
            let mut q = polls.queue();
            if q.leading {
                let (tx, rx) = oneshot::channel();
                q.waiting.push_back((id.to_string(), name.to_string(), tx));
                Some(rx)
            } else {
                q.leading = true;
                None
            }
        };
        let Some(rx) = rx else {
            return lead(c, &polls, id, cluster, name).await;
        };
        match rx.await {
            Ok(Reply::Done(answer)) => return *answer,
            Ok(Reply::Lead) => return lead(c, &polls, id, cluster, name).await,
            // Its leader was dropped mid-call (the run abandoned): ask again.
            Err(_) => continue,
        }
    }
}

/// Sends one call for `name` and up to nine of those waiting, answers them, and hands the
/// lead to the next one waiting (or gives it up).
async fn lead(c: &Clients, polls: &Polls, id: &str, cluster: &str, name: &str) -> Answer {
    let _next = HandOff(polls.clone());
    // Polls woken at the same moment as this one get to ask first, and come along.
    tokio::task::yield_now().await;
    let others: Vec<_> = {
        let mut q = polls.queue();
        let n = q.waiting.len().min(9);
        q.waiting.drain(..n).collect()
    };
    let mut names = vec![name.to_string()];
    for (_, n, _) in &others {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let got = match c
        .ecs
        .describe_services()
        .cluster(cluster)
        .set_services(Some(names))
        .include(ServiceField::Tags)
        .send()
        .await
    {
        Ok(out) => Ok(out.services().to_vec()),
        Err(e) if is_code(&e, &["ClusterNotFoundException"]) => Ok(Vec::new()),
        Err(e) => Err(cloud(id, "DescribeServices", e)),
    };
    let answer = |who: &str, n: &str| -> Answer {
        match &got {
            Ok(services) => Ok(services
                .iter()
                .find(|s| s.service_arn() == Some(n) || s.service_name() == Some(n))
                .cloned()),
            Err(e) => Err(CloudError {
                resource: who.to_string(),
                ..e.clone()
            }),
        }
    };
    for (who, n, tx) in others {
        // One that stopped waiting (the run abandoned) needs no answer.
        let _ = tx.send(Reply::Done(Box::new(answer(&who, &n))));
    }
    answer(id, name)
}

/// At the end of a lead, however it ends: the first one still waiting leads next.
struct HandOff(Polls);

impl Drop for HandOff {
    fn drop(&mut self) {
        let mut q = self.0.queue();
        while let Some((who, name, tx)) = q.waiting.pop_front() {
            match tx.send(Reply::Lead) {
                Ok(()) => return,
                Err(_) => tracing::debug!(resource = %who, service = %name, "stopped waiting"),
            }
        }
        q.leading = false;
    }
}
