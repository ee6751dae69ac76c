"""Service tasks for the local AWS, which moto never starts. After `start_delay` seconds a
service's deployment runs its desired count and completes, as ECS reports it. An image
whose name contains `does-not-exist` cannot be pulled: its tasks stop with
CannotPullContainerError and the deployment fails the way the circuit breaker reports it.
This is done by completing moto's ECS answers (DescribeServices, ListTasks, DescribeTasks).

Configure with POST /_provision/tasks {"start_delay": 2.0} or PROVISION_TASK_START_DELAY.
"""

import json
import os
import threading
import time
import uuid

from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT

BAD_IMAGE = "does-not-exist"


class Tasks:
    def __init__(self):
        self.lock = threading.Lock()
        self.start_delay = float(os.environ.get("PROVISION_TASK_START_DELAY", "2"))
        # service ARN -> {"since": time of the last deployment, "bad": image that fails, "stopped": [task ARNs]}
        self.deployments = {}

    def configure(self, settings):
        with self.lock:
            self.start_delay = float(settings.get("start_delay", self.start_delay))
            return {"start_delay": self.start_delay}

    def _images(self, region, task_definition):
        from moto.ecs.models import ecs_backends

        td = ecs_backends[ACCOUNT][region].describe_task_definition(task_definition)
        return [c.get("image", "") for c in td.container_definitions]

    def rewrite(self, action, region, request, body):
        """moto's answer completed with simulated tasks (bytes in, bytes out)."""
        if action not in ("CreateService", "UpdateService", "DescribeServices", "ListTasks", "DescribeTasks"):
            return body
        try:
            doc = json.loads(body or b"{}")
            req = json.loads(request or b"{}")
        except ValueError:
            return body
        with self.lock:
            if action in ("CreateService", "UpdateService") and "service" in doc:
                svc = doc["service"]
                changed = action == "CreateService" or "taskDefinition" in req or "forceNewDeployment" in req
                if changed:
                    images = self._images(region, svc["taskDefinition"])
                    bad = next((i for i in images if BAD_IMAGE in i), None)
                    self.deployments[svc["serviceArn"]] = {"since": time.time(), "bad": bad, "stopped": [], "cluster": svc.get("clusterArn")}
                self._complete(svc)
            elif action == "DescribeServices":
                for svc in doc.get("services", []):
                    self._complete(svc)
            elif action == "ListTasks" and req.get("desiredStatus") == "STOPPED":
                name = req.get("serviceName", "")
                cluster = (req.get("cluster") or "default").rsplit("/", 1)[-1]
                for arn, d in self.deployments.items():
                    same_cluster = (d.get("cluster") or "").rsplit("/", 1)[-1] == cluster
                    if same_cluster and arn.endswith("/" + name) and d["bad"] and self._started(d):
                        doc["taskArns"] = doc.get("taskArns", []) + d["stopped"]
            elif action == "DescribeTasks":
                wanted = set(req.get("tasks", []))
                for d in self.deployments.values():
                    for task in d["stopped"]:
                        if task in wanted:
                            doc.setdefault("tasks", []).append(self._stopped_task(task, d))
                            doc["failures"] = [f for f in doc.get("failures", []) if f.get("arn") != task]
        return json.dumps(doc).encode()

    def _started(self, d):
        return time.time() - d["since"] >= self.start_delay

    def _complete(self, svc):
        d = self.deployments.get(svc.get("serviceArn"))
        if d is None or svc.get("status") != "ACTIVE":
            return
        desired = svc.get("desiredCount", 0)
        deployments = svc.get("deployments") or [{"status": "PRIMARY", "taskDefinition": svc.get("taskDefinition")}]
        primary = deployments[0]
        primary["status"] = "PRIMARY"
        if not self._started(d):
            running, state = 0, "IN_PROGRESS"
        elif d["bad"]:
            running, state = 0, "FAILED"
            primary["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
            if not d["stopped"]:
                cluster = (d.get("cluster") or "").rsplit("/", 1)[-1]
                region = svc["serviceArn"].split(":")[3]
                d["stopped"] = [f"arn:aws:ecs:{region}:{ACCOUNT}:task/{cluster}/{uuid.uuid4().hex}" for _ in range(max(desired, 1))]
        else:
            running, state = desired, "COMPLETED"
        primary.update({"runningCount": running, "desiredCount": desired, "pendingCount": desired - running, "rolloutState": state})
        svc["deployments"] = [primary]
        svc["runningCount"] = running
        svc["pendingCount"] = desired - running

    def _stopped_task(self, arn, d):
        image = d["bad"]
        reason = (
            f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
            f"failed to resolve ref docker.io/library/{image}: not found"
        )
        return {
            "taskArn": arn,
            "clusterArn": d.get("cluster"),
            "lastStatus": "STOPPED",
            "desiredStatus": "STOPPED",
            "stopCode": "TaskFailedToStart",
            "stoppedReason": reason,
            "containers": [{"name": image.split(":")[0].rsplit("/", 1)[-1], "lastStatus": "STOPPED", "reason": reason}],
        }
