//! An in-memory cloud for engine tests: records every call, can fail a chosen resource,
//! and counts how many calls were in flight at once.

use provision::desired::Kind;
use provision::provider::{Applied, CloudError, Provider, Target};
use provision::state::Entry;
use serde_json::{Map, Value as Json, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Default)]
pub struct Fake {
    pub objects: Mutex<HashMap<String, Json>>,
    pub calls: Mutex<Vec<String>>,
    pub fail: Mutex<Option<String>>,
    pub delay: Duration,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    next: AtomicUsize,
}

impl Fake {
    pub fn slow(delay: Duration) -> Self {
        Fake {
            delay,
            ..Default::default()
        }
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// Index of the first call `op id`.
    pub fn pos(&self, call: &str) -> usize {
        self.calls()
            .iter()
            .position(|c| c == call)
            .unwrap_or_else(|| panic!("no call `{call}` in {:?}", self.calls()))
    }

    async fn enter(&self, call: String) {
        self.calls.lock().unwrap().push(call);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    fn failing(&self, id: &str) -> Option<CloudError> {
        (self.fail.lock().unwrap().as_deref() == Some(id)).then(|| CloudError {
            resource: id.to_string(),
            operation: "Create".into(),
            code: Some("InvalidParameterValue".into()),
            message: "the fake refuses".into(),
            hint: None,
        })
    }
}

impl Provider for Fake {
    async fn lookup(
        &self,
        _id: &str,
        kind: Kind,
        _p: &Json,
    ) -> Result<Map<String, Json>, CloudError> {
        let m = match kind {
            Kind::Account => json!({"region": "us-east-1", "partition": "aws", "account_id": "1"}),
            Kind::DefaultVpc => {
                json!({"id": "vpc-default", "subnet_ids": ["subnet-a", "subnet-b"]})
            }
            Kind::AvailabilityZones => json!({"names": ["us-east-1a", "us-east-1b"]}),
            Kind::SsmParameter => json!({"value": "ami-0123456789abcdef0"}),
            _ => json!({"arn": "arn:aws:iam::1:role/existing"}),
        };
        Ok(m.as_object().unwrap().clone())
    }

    async fn read(&self, _id: &str, e: &Entry) -> Result<Option<Map<String, Json>>, CloudError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .get(&e.physical_id)
            .and_then(|v| v.as_object().cloned()))
    }

    async fn create(&self, t: &Target, p: &Json) -> Result<Applied, CloudError> {
        self.enter(format!("create {}", t.id)).await;
        if let Some(e) = self.failing(&t.id) {
            return Err(e);
        }
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let pid = format!("{}-{n}", t.id);
        self.objects.lock().unwrap().insert(pid.clone(), p.clone());
        let outputs = json!({
            "id": pid, "arn": format!("arn:{pid}"), "name": pid,
            "endpoint": format!("{pid}.db"), "port": 3306, "username": "u", "db_name": "d",
            "secret_arn": format!("arn:secret:{pid}"), "password_secret": format!("arn:secret:{pid}:password::"),
            "dns_name": format!("{pid}.elb"), "arn_suffix": format!("app/{pid}"), "resource_id": format!("service/{pid}"),
        });
        Ok(Applied {
            physical_id: pid,
            outputs: outputs.as_object().unwrap().clone(),
        })
    }

    async fn update(&self, t: &Target, e: &Entry, p: &Json) -> Result<Applied, CloudError> {
        self.enter(format!("update {}", t.id)).await;
        if t.kind == Kind::TaskDefinition {
            return self.create(t, p).await;
        }
        self.objects
            .lock()
            .unwrap()
            .insert(e.physical_id.clone(), p.clone());
        Ok(Applied {
            physical_id: e.physical_id.clone(),
            outputs: e.outputs.clone(),
        })
    }

    async fn delete(&self, t: &Target, e: &Entry) -> Result<(), CloudError> {
        self.enter(format!("delete {}", t.id)).await;
        self.objects.lock().unwrap().remove(&e.physical_id);
        Ok(())
    }

    async fn discover(
        &self,
        _kind: Kind,
        _stack: &str,
    ) -> Result<Vec<provision::resources::kind::Found>, CloudError> {
        Ok(Vec::new())
    }

    async fn live_outputs(&self, _id: &str, _e: &Entry) -> Result<Map<String, Json>, CloudError> {
        Ok(Map::new())
    }

    async fn wait_ready(&self, _t: &Target, _a: &Applied, _d: Duration) -> Result<(), CloudError> {
        Ok(())
    }
}
