//! The state kept elsewhere than a local file: an object store with conditional writes
//! (S3). The engine sees only this trait; `resources::s3_object` implements it.

use crate::provider::CloudError;
use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An object's bytes and its ETag.
pub type Versioned = (Vec<u8>, String);

/// When a write may happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// Always.
    Any,
    /// Only if the object is still the one with this ETag (nobody wrote in between).
    IfMatch(String),
    /// Only if there is no object yet (a lock being taken).
    IfAbsent,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum RemoteError {
    /// The condition did not hold: someone else wrote, or the object exists.
    #[error("the object changed or exists already")]
    Precondition,
    #[error("{0}")]
    Cloud(#[from] CloudError),
}

/// One object: read with its ETag, written on a condition, deleted.
pub trait Remote: Send + Sync {
    /// `s3://bucket/key`, for messages.
    fn describe(&self) -> String;
    /// The object's bytes and ETag, or `None` when there is none.
    fn get(&self) -> BoxFuture<'_, Result<Option<Versioned>, RemoteError>>;
    /// Writes `body` if `cond` holds; the new ETag.
    fn put(&self, body: Vec<u8>, cond: Cond) -> BoxFuture<'_, Result<String, RemoteError>>;
    fn delete(&self) -> BoxFuture<'_, Result<(), RemoteError>>;
    /// The object beside this one with `suffix` appended to the key (the lock: `KEY.lock`).
    fn sibling(&self, suffix: &str) -> Box<dyn Remote>;
}
