//! SDK errors -> `CloudError`: the resource, the operation, AWS's code and message, a hint.

use crate::provider::CloudError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub fn cloud<E, R>(resource: &str, operation: &str, e: SdkError<E, R>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = e.code().map(str::to_string);
    if let Some(err) = no_credentials(resource, operation, &e) {
        return err;
    }
    let message = match (&e, e.message()) {
        (_, Some(m)) => m.to_string(),
        (SdkError::DispatchFailure(d), None) => {
            let mut m = String::from("could not reach the AWS endpoint");
            if let Some(c) = d.as_connector_error() {
                let mut src: Option<&dyn std::error::Error> = Some(c);
                while let Some(s) = src {
                    m = format!("could not reach the AWS endpoint: {s}");
                    src = s.source();
                }
            }
            m
        }
        (SdkError::TimeoutError(_), None) => "the request timed out".to_string(),
        (other, None) => aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
    };
    let hint = hint_for(code.as_deref(), &e);
    CloudError {
        resource: resource.to_string(),
        operation: operation.to_string(),
        code,
        message,
        hint,
    }
}

/// Missing credentials, said as such (the SDK reports them as a dispatch failure, which
/// would otherwise read as a network problem).
fn no_credentials<E, R>(resource: &str, operation: &str, e: &SdkError<E, R>) -> Option<CloudError>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        if s.to_string().contains("no credentials found") {
            return Some(CloudError {
                resource: resource.to_string(),
                operation: operation.to_string(),
                code: None,
                message: "no AWS credentials were found (tried the environment, the profile, web identity, the container and the instance)".into(),
                hint: Some(
                    "give credentials one of the usual ways: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment; a profile from ~/.aws/config with --profile or AWS_PROFILE; SSO with `aws sso login --profile NAME`; in CI, a role through OIDC (on GitHub Actions: aws-actions/configure-aws-credentials); --local uses dummy ones"
                        .into(),
                ),
            });
        }
        src = s.source();
    }
    None
}

fn hint_for<E, R>(code: Option<&str>, e: &SdkError<E, R>) -> Option<String> {
    let h = match code {
        Some(
            "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "AuthFailure"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "ExpiredTokenException",
        ) => "check your AWS credentials (AWS_PROFILE / --profile, or `aws sso login`)",
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            "your credentials lack the permission named in the message; ask for it or use another --profile"
        }
        Some("DependencyViolation") => {
            "something outside this stack still uses it; remove that first, then run the command again"
        }
        Some(c) if c.contains("Throttl") || c == "RequestLimitExceeded" => {
            "AWS is throttling requests; run again, or lower --parallelism"
        }
        Some(c) if c.contains("LimitExceeded") => {
            "an account quota is reached; raise it in Service Quotas or remove unused resources"
        }
        _ if matches!(e, SdkError::DispatchFailure(_)) => {
            "check the network and the endpoint; with --local, start the emulator (localstack/start) or let --local start it"
        }
        _ => return None,
    };
    Some(h.to_string())
}

/// A plain error made here, not by AWS.
pub fn own(resource: &str, operation: &str, message: impl Into<String>, hint: &str) -> CloudError {
    CloudError {
        resource: resource.to_string(),
        operation: operation.to_string(),
        code: None,
        message: message.into(),
        hint: Some(hint.to_string()),
    }
}

pub fn is_code<E, R>(e: &SdkError<E, R>, codes: &[&str]) -> bool
where
    E: ProvideErrorMetadata,
{
    e.code().is_some_and(|c| codes.contains(&c))
}

/// The answer, or `None` when AWS says the resource does not exist (`codes`).
pub fn found<T, E, R>(
    r: Result<T, SdkError<E, R>>,
    codes: &[&str],
    resource: &str,
    operation: &str,
) -> Result<Option<T>, CloudError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_code(&e, codes) => Ok(None),
        Err(e) => Err(cloud(resource, operation, e)),
    }
}

/// Success also when the resource is already gone: deleting is then done.
pub fn gone<T, E, R>(
    r: Result<T, SdkError<E, R>>,
    codes: &[&str],
    resource: &str,
    operation: &str,
) -> Result<(), CloudError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    found(r, codes, resource, operation).map(|_| ())
}
