//! An S3 object as `state::remote::Remote`: the state and its lock for CI. Every write is
//! conditional (If-Match on the ETag last seen, If-None-Match: * to create), so a run
//! that lost its lock can never overwrite a newer state.

use super::error::cloud;
use crate::aws::Clients;
use crate::state::remote::{BoxFuture, Cond, Remote, RemoteError, Versioned};
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub struct S3Object {
    c: Clients,
    bucket: String,
    key: String,
}

impl S3Object {
    /// `s3://bucket/key`, or `None` when `url` is not one.
    pub fn parse(c: &Clients, url: &str) -> Option<Self> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/')?;
        (!bucket.is_empty() && !key.is_empty()).then(|| S3Object {
            c: c.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    fn what(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

fn precondition<E: ProvideErrorMetadata>(e: &E) -> bool {
    matches!(
        e.code(),
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    )
}

impl Remote for S3Object {
    fn describe(&self) -> String {
        self.what()
    }

    fn get(&self) -> BoxFuture<'_, Result<Option<Versioned>, RemoteError>> {
        Box::pin(async move {
            let got = self
                .c
                .s3
                .get_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .send()
                .await;
            let out = match got {
                Ok(out) => out,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                    return Ok(None);
                }
                Err(e) => return Err(cloud(&self.what(), "GetObject", e).into()),
            };
            let etag = out.e_tag().unwrap_or_default().to_string();
            let body = out.body.collect().await.map_err(|e| {
                RemoteError::Cloud(super::error::own(
                    &self.what(),
                    "GetObject",
                    format!("the download broke off: {e}"),
                    "run the command again",
                ))
            })?;
            Ok(Some((body.into_bytes().to_vec(), etag)))
        })
    }

    fn put(&self, body: Vec<u8>, cond: Cond) -> BoxFuture<'_, Result<String, RemoteError>> {
        Box::pin(async move {
            let mut req = self
                .c
                .s3
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type("application/json")
                .body(ByteStream::from(body));
            req = match cond {
                Cond::Any => req,
                Cond::IfMatch(etag) => req.if_match(etag),
                Cond::IfAbsent => req.if_none_match("*"),
            };
            match req.send().await {
                Ok(out) => Ok(out.e_tag().unwrap_or_default().to_string()),
                Err(e) if precondition(&e) => Err(RemoteError::Precondition),
                Err(e) => Err(cloud(&self.what(), "PutObject", e).into()),
            }
        })
    }

    fn delete(&self) -> BoxFuture<'_, Result<(), RemoteError>> {
        Box::pin(async move {
            self.c
                .s3
                .delete_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .send()
                .await
                .map_err(|e| cloud(&self.what(), "DeleteObject", e))?;
            Ok(())
        })
    }

    fn sibling(&self, suffix: &str) -> Box<dyn Remote> {
        Box::new(S3Object {
            c: self.c.clone(),
            bucket: self.bucket.clone(),
            key: format!("{}{suffix}", self.key),
        })
    }
}
