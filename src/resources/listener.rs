//! A listener of the load balancer: HTTP on 80, or HTTPS on 443 with the certificate. Its
//! default action answers 404 (each service has a rule of its own), or, on 80 when HTTPS is
//! on, redirects to HTTPS.

use super::error::{cloud, found, own};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::load_balancer::{elb_tags, owned_arn};
use super::props::applied;
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, Listener as SdkListener,
    ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum,
};
use serde_json::{Value as Json, json};
use std::time::Duration;

/// Load balancer listener.
pub struct Listener;

crate::props! {
    for Listener;
    pub struct Props / Desired {
        pub load_balancer_arn: String,
        pub port: i64,
        /// HTTPS with this certificate (ACM); HTTP when left out.
        pub certificate_arn: Option<String>,
        /// Answer every request with a redirect to HTTPS on 443.
        pub redirect_to_https: bool,
    }
}

const NOT_FOUND: &[&str] = &["ListenerNotFound", "LoadBalancerNotFound"];

async fn describe(c: &Clients, id: &str, arn: &str) -> Result<Option<SdkListener>, CloudError> {
    let got = c.elb.describe_listeners().listener_arns(arn).send().await;
    Ok(
        found(got, NOT_FOUND, id, "DescribeListeners")?
            .and_then(|o| o.listeners().first().cloned()),
    )
}

fn default_action(p: &Props) -> Action {
    if p.redirect_to_https {
        return Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port("443")
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build();
    }
    Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code("404")
                .content_type("text/plain")
                .message_body("No service of this stack answers at this address.")
                .build(),
        )
        .build()
}

fn protocol(p: &Props) -> ProtocolEnum {
    if p.certificate_arn.is_some() {
        ProtocolEnum::Https
    } else {
        ProtocolEnum::Http
    }
}

fn certificates(p: &Props) -> Option<Vec<Certificate>> {
    p.certificate_arn
        .as_ref()
        .map(|arn| vec![Certificate::builder().certificate_arn(arn).build()])
}

impl Owned for Listener {
    type Props = Props;
    const LABEL: &'static str = "listener";
    const REPLACE_ON: &'static [&'static str] = &["load_balancer_arn"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(c: &Clients, id: &str, e: &Entry) -> Result<Option<Fields>, CloudError> {
        Ok(describe(c, id, &e.physical_id).await?.map(|l| {
            let redirect = l
                .default_actions()
                .iter()
                .any(|a| a.r#type() == Some(&ActionTypeEnum::Redirect));
            let cert = l
                .certificates()
                .first()
                .and_then(|c| c.certificate_arn())
                .map(str::to_string);
            super::props::outputs(&[
                ("load_balancer_arn", json!(l.load_balancer_arn())),
                ("port", json!(l.port())),
                ("certificate_arn", json!(cert)),
                ("redirect_to_https", json!(redirect)),
            ])
        }))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        // A crashed run's listener on the same port is this one, if it carries our tags.
        let existing = c
            .elb
            .describe_listeners()
            .load_balancer_arn(p.load_balancer_arn.as_str())
            .send()
            .await
            .map_err(|e| cloud(&t.id, "DescribeListeners", e))?;
        if let Some(l) = existing
            .listeners()
            .iter()
            .find(|l| l.port() == Some(p.port as i32))
        {
            let arn = l.listener_arn().unwrap_or_default().to_string();
            if !owned_arn(c, t, &arn).await? {
                return Err(own(
                    &t.id,
                    "CreateListener",
                    format!(
                        "the load balancer already listens on port {} with a listener the stack did not create",
                        p.port
                    ),
                    "delete that listener, or leave the load balancer to provision",
                ));
            }
            return applied(&arn, &[("arn", json!(arn))]);
        }
        let made = c
            .elb
            .create_listener()
            .load_balancer_arn(p.load_balancer_arn.as_str())
            .port(p.port as i32)
            .protocol(protocol(p))
            .set_certificates(certificates(p))
            .default_actions(default_action(p))
            .set_tags(Some(elb_tags(t)))
            .send()
            .await
            .map_err(|e| cloud(&t.id, "CreateListener", e))?;
        let arn = made
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .ok_or_else(|| {
                own(
                    &t.id,
                    "CreateListener",
                    "AWS returned no listener",
                    "run the command again",
                )
            })?;
        applied(arn, &[("arn", json!(arn))])
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        c.elb
            .modify_listener()
            .listener_arn(&e.physical_id)
            .port(p.port as i32)
            .protocol(protocol(p))
            .set_certificates(certificates(p))
            .default_actions(default_action(p))
            .send()
            .await
            .map_err(|err| cloud(&t.id, "ModifyListener", err))?;
        Ok(super::props::unchanged(e))
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let r = c
            .elb
            .delete_listener()
            .listener_arn(&e.physical_id)
            .send()
            .await;
        super::error::gone(r, NOT_FOUND, &t.id, "DeleteListener")
    }

    async fn wait_ready(
        _c: &Clients,
        _t: &Target,
        _a: &Applied,
        _timeout: Duration,
    ) -> Result<(), CloudError> {
        ready_at_once().await
    }

    async fn live_outputs(_c: &Clients, _id: &str, _e: &Entry) -> Result<Fields, CloudError> {
        no_live_outputs().await
    }

    /// Through the stack's load balancers: listeners cannot be listed by tag.
    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        let mut out = Vec::new();
        for lb in super::discovered::<super::load_balancer::LoadBalancer>(c, stack).await? {
            let Some(lb_arn) = lb.outputs.get("arn").and_then(Json::as_str) else {
                continue;
            };
            let got = c
                .elb
                .describe_listeners()
                .load_balancer_arn(lb_arn)
                .send()
                .await
                .map_err(|e| cloud(stack, "DescribeListeners", e))?;
            let arns: Vec<String> = got
                .listeners()
                .iter()
                .filter_map(|l| l.listener_arn().map(str::to_string))
                .collect();
            out.extend(super::load_balancer::found_by_arn(c, stack, &arns).await?);
        }
        Ok(out)
    }

    fn classify(_e: &CloudError) -> Retry {
        Retry::No
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(_change: Change, _e: Option<&Entry>) -> Option<String> {
        None
    }
}
