"""Service tasks for the local AWS, which moto never starts. After `start_delay` seconds a
service's deployment runs its desired count and completes, as ECS reports it. Tasks of an
awsvpc service get a network interface in the service's subnet with its security groups,
so that (with the strict rules) those groups and that subnet cannot be deleted while the
tasks run; scaling to 0 or deleting the service stops them, and their interfaces go
`stop_delay` seconds later. Tasks of an EC2-launch-type service start only on container
instances: like the ECS agent, running EC2 instances join the cluster named in their user
data (`ECS_CLUSTER=...`) and leave it when terminated, and tasks are placed only where
their memory and CPU fit. An image whose name contains `does-not-exist` cannot be
pulled: its tasks stop with CannotPullContainerError and the deployment fails the way the
circuit breaker reports it. This is done by completing moto's ECS answers
(DescribeServices, ListTasks, DescribeTasks).

Configure with POST /_provision/tasks {"start_delay": 2.0, "stop_delay": 1.0}, or
PROVISION_TASK_START_DELAY and PROVISION_TASK_STOP_DELAY.
"""

import base64
import json
import os
import re
import threading
import time
import uuid

from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.core.exceptions import ServiceException
from werkzeug.exceptions import HTTPException

# What moto raises for an AWS error (not-found, invalid): expected, unlike a bug.
MOTO_ERRORS = (ServiceException, HTTPException)

BAD_IMAGE = "does-not-exist"
# An image whose tasks run but fail the load balancer's health checks (see elb.py), and how
# long after they start ECS gives up on them.
UNHEALTHY_IMAGE = "unhealthy"
UNHEALTHY_AFTER = 3.0

# The simulator in this process, for the strict rules (a cluster with tasks cannot go).
CURRENT = None


def tasks_in(cluster):
    """Simulated tasks still running or stopping in a cluster (by name)."""
    if CURRENT is None:
        return 0
    with CURRENT.lock:
        n = 0
        for d in CURRENT.deployments.values():
            if (d.get("cluster") or "").rsplit("/", 1)[-1] == cluster:
                n += len(d["running"]) + len(d.get("stopping", []))
        return n


class Tasks:
    def __init__(self):
        self.lock = threading.Lock()
        self.start_delay = float(os.environ.get("PROVISION_TASK_START_DELAY", "2"))
        self.stop_delay = float(os.environ.get("PROVISION_TASK_STOP_DELAY", "1"))
        # service ARN -> {"since": time of the last deployment, "bad": image that fails,
        # "stopped": [stopped tasks as DescribeTasks shows them, of this and earlier deployments]}
        self.deployments = {}
        # service ARN -> its deploymentCircuitBreaker setting ({"enable": …, "rollback": …})
        self.breakers = {}
        # (region, EC2 instance id) -> (cluster, container instance ARN): what the "agent" registered
        self.agents = {}
        # (region, task definition ARN) -> why its tasks cannot initialize yet, or None: the
        # delays' fresh-account window on an execution role's new secret policy.
        self.init_refusal = None
        # service ARN -> healthCheckGracePeriodSeconds, which moto drops
        self.grace = {}
        global CURRENT
        CURRENT = self

    def configure(self, settings):
        with self.lock:
            self.start_delay = float(settings.get("start_delay", self.start_delay))
            self.stop_delay = float(settings.get("stop_delay", self.stop_delay))
            return {"start_delay": self.start_delay, "stop_delay": self.stop_delay}

    def _images(self, region, task_definition):
        from moto.ecs.models import ecs_backends

        td = ecs_backends[ACCOUNT][region].describe_task_definition(task_definition)
        return [c.get("image", "") for c in td.container_definitions]

    def rewrite(self, action, region, request, body):
        """moto's answer completed with simulated tasks (bytes in, bytes out)."""
        if action not in ("CreateService", "UpdateService", "DeleteService", "DescribeServices", "ListTasks", "DescribeTasks"):
            return body
        try:
            doc = json.loads(body or b"{}")
            req = json.loads(request or b"{}")
        except ValueError:
            return body
        with self.lock:
            if action == "DeleteService" and "service" in doc:
                self._stop(doc["service"].get("serviceArn"), halt=True)
            elif action in ("CreateService", "UpdateService") and "service" in doc:
                svc = doc["service"]
                if "healthCheckGracePeriodSeconds" in req:
                    self.grace[svc["serviceArn"]] = req["healthCheckGracePeriodSeconds"]
                changed = action == "CreateService" or "taskDefinition" in req or "forceNewDeployment" in req
                if changed or req.get("desiredCount") == 0:
                    self._stop(svc["serviceArn"], halt=req.get("desiredCount") == 0)
                elif req.get("desiredCount") and svc["serviceArn"] in self.deployments:
                    self.deployments[svc["serviceArn"]]["halted"] = False
                if changed:
                    images = self._images(region, svc["taskDefinition"])
                    bad = next((i for i in images if BAD_IMAGE in i), None)
                    unhealthy = next((i for i in images if UNHEALTHY_IMAGE in i), None)
                    vpc = (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
                    previous = self.deployments.get(svc["serviceArn"], {})
                    # The circuit breaker as the service was created or last updated with.
                    asked = (req.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker")
                    if asked is not None or action == "CreateService":
                        self.breakers[svc["serviceArn"]] = asked or {}
                    breaker = self.breakers.get(svc["serviceArn"], {})
                    # What a failed deployment rolls back to: the last one whose tasks ran.
                    good = None
                    if previous and not previous.get("bad"):
                        good = {"td": previous.get("td"), "network": previous.get("network")}
                    self.deployments[svc["serviceArn"]] = {
                        "id": f"ecs-svc/{uuid.uuid4().int % 10**19:019d}",
                        "td": svc.get("taskDefinition"),
                        "since": time.time(), "bad": bad, "running": [],
                        # ECS lists stopped tasks for an hour, whichever deployment started them.
                        "stopped": previous.get("stopped", [])[-50:],
                        "cluster": svc.get("clusterArn"), "region": region, "network": vpc,
                        # The old deployment's tasks still let go of their interfaces.
                        "stopping": previous.get("stopping", []),
                        "halted": req.get("desiredCount") == 0,
                        "rollback_to": good if breaker.get("rollback") else None,
                        "failed": None,
                        "service": svc["serviceArn"], "unhealthy": unhealthy, "targets": {},
                    }
                self._complete(svc)
            elif action == "DescribeServices":
                for svc in doc.get("services", []):
                    self._complete(svc)
            elif action == "ListTasks" and req.get("desiredStatus", "RUNNING") == "RUNNING":
                for arn, d in self._of_service(req):
                    doc["taskArns"] = doc.get("taskArns", []) + [task for task, _, _ in d["running"]]
            elif action == "ListTasks" and req.get("desiredStatus") == "STOPPED":
                name = req.get("serviceName", "")
                cluster = (req.get("cluster") or "default").rsplit("/", 1)[-1]
                for arn, d in self.deployments.items():
                    same_cluster = (d.get("cluster") or "").rsplit("/", 1)[-1] == cluster
                    if same_cluster and arn.endswith("/" + name) and d["stopped"]:
                        doc["taskArns"] = doc.get("taskArns", []) + [t["taskArn"] for t in d["stopped"]]
            elif action == "DescribeTasks":
                wanted = set(req.get("tasks", []))
                for d in self.deployments.values():
                    for task, eni, host in d["running"]:
                        if task in wanted:
                            doc.setdefault("tasks", []).append(self._running_task(task, eni, host, d))
                            doc["failures"] = [f for f in doc.get("failures", []) if f.get("arn") != task]
                    for task in d["stopped"]:
                        if task["taskArn"] in wanted:
                            doc.setdefault("tasks", []).append(task)
                            doc["failures"] = [f for f in doc.get("failures", []) if f.get("arn") != task["taskArn"]]
        return json.dumps(doc).encode()

    def _of_service(self, req):
        name = req.get("serviceName", "")
        cluster = (req.get("cluster") or "default").rsplit("/", 1)[-1]
        for arn, d in self.deployments.items():
            if (d.get("cluster") or "").rsplit("/", 1)[-1] == cluster and arn.endswith("/" + name):
                yield arn, d

    def _ec2(self, region):
        from moto.ec2.models import ec2_backends

        return ec2_backends[ACCOUNT][region]

    def _start(self, d, count):
        """The deployment's tasks, each with an interface in the service's first subnet."""
        net = d["network"]
        cluster = (d.get("cluster") or "").rsplit("/", 1)[-1]
        for _ in range(count):
            task = f"arn:aws:ecs:{d['region']}:{ACCOUNT}:task/{cluster}/{uuid.uuid4().hex}"
            eni = None
            if net.get("subnets"):
                b = self._ec2(d["region"])
                ni = b.create_network_interface(
                    b.get_subnet(net["subnets"][0]),
                    None,
                    group_ids=net.get("securityGroups") or [],
                    description=f"arn:aws:ecs:{d['region']}:{ACCOUNT}:attachment/{uuid.uuid4()}",
                )
                eni = ni.id
            # An EC2-launch-type task runs on one of the cluster's container instances.
            host = None
            if eni is None:
                host = next((arn for cl, arn in self.agents.values() if cl == cluster), None)
            d["running"].append((task, eni, host))
            self._register(d, task, eni, host)

    def _register(self, d, task, eni, host):
        """ECS registers a new task with the service's target groups: its interface's IP
        (awsvpc), or its instance and a dynamic host port (bridge)."""
        import elb
        from moto.ecs.models import ecs_backends

        if elb.CURRENT is None:
            return
        cluster = (d.get("cluster") or "").rsplit("/", 1)[-1]
        name = (d.get("service") or "").rsplit("/", 1)[-1]
        service = ecs_backends[ACCOUNT][d["region"]].services.get(f"{cluster}:{name}")
        if service is None or not service.load_balancers:
            return
        if eni:
            target, port = self._ec2(d["region"]).get_network_interface(eni).private_ip_address, None
        else:
            target = next((i for (_, i), (_, ci) in self.agents.items() if ci == host), None)
            port = 32768 + len(d["running"])
        if target is None:
            return
        images = " ".join(self._images(d["region"], d.get("td")))
        for lb in service.load_balancers:
            group = lb.get("targetGroupArn")
            elb.CURRENT.register(d["region"], group, target, port or lb.get("containerPort"), images)
            d.setdefault("targets", {}).setdefault(task, []).append((group, target))

    def _deregister(self, d, task):
        import elb

        for group, target in d.get("targets", {}).pop(task, []):
            if elb.CURRENT is not None:
                elb.CURRENT.deregister(d["region"], group, target)

    def _stop(self, service_arn, halt):
        """The running tasks stop; their interfaces go `stop_delay` later. `halt`: and no
        new ones start (scaled to 0 or deleted)."""
        d = self.deployments.get(service_arn)
        if d is not None:
            for task, _, _ in d["running"]:
                self._deregister(d, task)
            release = time.time() + self.stop_delay
            d["stopping"] = d.get("stopping", []) + [(eni, release) for _, eni, _ in d["running"]]
            d["running"] = []
            d["halted"] = d.get("halted", False) or halt

    def _agent(self, region):
        """Running instances join the cluster in their user data; terminated ones leave."""
        from moto.ecs.models import ecs_backends

        ecs = ecs_backends[ACCOUNT][region]
        for r in self._ec2(region).reservations.values():
            for i in r.instances:
                key, state = (region, i.id), str(getattr(i, "state", ""))
                if state == "running" and key not in self.agents:
                    try:
                        data = base64.b64decode(str(i.user_data or "")).decode("utf-8", "replace")
                    except ValueError:
                        continue
                    m = re.search(r"ECS_CLUSTER=(\S+)", data)
                    if m and m.group(1) in ecs.clusters:
                        ci = ecs.register_container_instance(m.group(1), i.id)
                        self.agents[key] = (m.group(1), ci.container_instance_arn)
                elif state in ("shutting-down", "terminated", "stopped") and key in self.agents:
                    cluster, arn = self.agents.pop(key)
                    try:
                        ecs.deregister_container_instance(cluster, arn, True)
                    except MOTO_ERRORS:
                        pass  # already deregistered, or the cluster is gone

    def _reap_interfaces(self, region):
        """A terminated instance's network interfaces go with it, as on AWS (moto keeps
        them, so DescribeNetworkInterfaces would show them holding groups and subnets)."""
        b = self._ec2(region)
        for eni_id, eni in list(b.enis.items()):
            inst = getattr(eni, "instance", None)
            if inst is not None and str(getattr(inst, "state", "")) == "terminated":
                del b.enis[eni_id]

    def _room(self, region, cluster, task_definition, desired):
        """How many of the service's tasks the cluster's container instances can hold."""
        from moto.ecs.models import ecs_backends

        ecs = ecs_backends[ACCOUNT][region]
        instances = [ci for ci in (ecs.container_instances.get(cluster) or {}).values() if ci.status == "ACTIVE"]
        if not instances:
            return 0
        td = ecs.describe_task_definition(task_definition)
        need_mem = int(td.memory or 0) or sum(int(c.get("memory") or c.get("memoryReservation") or 0) for c in td.container_definitions)
        need_cpu = int(td.cpu or 0) or sum(int(c.get("cpu") or 0) for c in td.container_definitions)
        fit = 0
        for ci in instances:
            have = {r["name"]: r.get("integerValue", 0) for r in ci.registered_resources}
            by_mem = have.get("MEMORY", 0) // need_mem if need_mem else desired
            by_cpu = have.get("CPU", 0) // need_cpu if need_cpu else desired
            fit += min(by_mem, by_cpu)
        return min(fit, desired)

    def tick(self, region="us-east-1"):
        """Stopped tasks let go of their interfaces once `stop_delay` has passed, and the
        instances' agents come and go."""
        now = time.time()
        with self.lock:
            self._agent(region)
            self._reap_interfaces(region)
            for d in self.deployments.values():
                due = [(eni, at) for eni, at in d.get("stopping", []) if at <= now]
                for eni, _ in due:
                    if eni:
                        try:
                            self._ec2(d["region"]).delete_network_interface(eni)
                        except MOTO_ERRORS:
                            pass  # already gone with its subnet
                d["stopping"] = [x for x in d.get("stopping", []) if x not in due]

    def _running_task(self, arn, eni, host, d):
        details = [{"name": "networkInterfaceId", "value": eni}] if eni else []
        return {
            "taskArn": arn,
            "containerInstanceArn": host,
            "clusterArn": d.get("cluster"),
            "lastStatus": "RUNNING",
            "desiredStatus": "RUNNING",
            "startedBy": d.get("id"),
            "launchType": "FARGATE" if eni else "EC2",
            "attachments": [{"type": "ElasticNetworkInterface", "status": "ATTACHED", "details": details}] if eni else [],
        }

    def _started(self, d):
        return time.time() - d["since"] >= self.start_delay

    def _complete(self, svc):
        if svc.get("serviceArn") in self.grace:
            svc["healthCheckGracePeriodSeconds"] = self.grace[svc["serviceArn"]]
        d = self.deployments.get(svc.get("serviceArn"))
        if d is None or svc.get("status") != "ACTIVE":
            return
        desired = svc.get("desiredCount", 0)
        deployments = svc.get("deployments") or [{"status": "PRIMARY", "taskDefinition": svc.get("taskDefinition")}]
        primary = deployments[0]
        primary["status"] = "PRIMARY"
        primary["id"] = d["id"]
        primary["taskDefinition"] = d.get("td") or primary.get("taskDefinition")
        if not self._started(d):
            running, state = 0, "IN_PROGRESS"
        elif d["bad"]:
            running, state = 0, "FAILED"
            primary["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
            if not any(t["startedBy"] == d["id"] for t in d["stopped"]):
                image = d["bad"]
                reason = d.get("bad_reason") or (
                    f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                    f"failed to resolve ref docker.io/library/{image}: not found"
                )
                for _ in range(max(desired, 1)):
                    self._stopped(d, reason, image.split(":")[0].rsplit("/", 1)[-1])
            if d.get("rollback_to"):
                self._roll_back(svc, d)
                return self._complete(svc)
        elif d.get("unhealthy") and time.time() - d["since"] >= self.start_delay + UNHEALTHY_AFTER:
            # ECS stops the tasks that fail the load balancer's health checks, and the
            # circuit breaker fails the deployment.
            groups = [g for targets in d.get("targets", {}).values() for g, _ in targets]
            self._stop(svc["serviceArn"], halt=False)
            d["bad"], d["unhealthy"] = d["unhealthy"], None
            d["bad_reason"] = f"Task failed ELB health checks in (target-group {groups[0] if groups else '?'})"
            return self._complete(svc)
        elif self.init_refusal and (reason := self.init_refusal(d["region"], d.get("td"))):
            # ECS keeps trying: a task stops about every second until the permission spreads.
            running, state = 0, "IN_PROGRESS"
            if time.time() - d.get("last_init_stop", 0) >= 1:
                d["last_init_stop"] = time.time()
                self._stopped(d, reason, "app")
        else:
            running = desired
            if not d["network"].get("subnets"):
                # EC2 launch type: only as many as the container instances hold.
                cluster = (d.get("cluster") or "").rsplit("/", 1)[-1]
                running = self._room(d["region"], cluster, svc.get("taskDefinition"), desired)
            # Tasks that fail their health checks never make a deployment complete.
            state = "COMPLETED" if running == desired and not d.get("unhealthy") else "IN_PROGRESS"
            if len(d["running"]) < running and not d.get("halted"):
                self._start(d, running - len(d["running"]))
        primary.update({"runningCount": running, "desiredCount": desired, "pendingCount": desired - running, "rolloutState": state})
        svc["deployments"] = [primary]
        # A failed deployment stays listed, ACTIVE and FAILED, until its rollback completes.
        failed = d.get("failed")
        if failed and state != "COMPLETED":
            svc["deployments"].append({
                "id": failed["id"], "status": "ACTIVE", "taskDefinition": failed["td"],
                "desiredCount": 0, "runningCount": 0, "pendingCount": 0,
                "rolloutState": "FAILED", "rolloutStateReason": failed["reason"],
            })
        elif failed:
            d["failed"] = None
        svc["runningCount"] = running
        svc["pendingCount"] = desired - running

    def _roll_back(self, svc, d):
        """What ECS's circuit breaker does with rollback on: the failed deployment is marked
        FAILED and a new PRIMARY deployment of the last good task definition starts."""
        from moto.ecs.models import ecs_backends

        good = d["rollback_to"]
        cluster = (d.get("cluster") or "").rsplit("/", 1)[-1]
        name = svc["serviceArn"].rsplit("/", 1)[-1]
        service = ecs_backends[ACCOUNT][d["region"]].services.get(f"{cluster}:{name}")
        if service is not None:
            service.task_definition = good["td"]
        svc["taskDefinition"] = good["td"]
        d["failed"] = {
            "id": d["id"], "td": d["td"], "image": d["bad"],
            "reason": "ECS deployment circuit breaker: tasks failed to start. Rolling back to the last good deployment.",
        }
        d.update({
            "id": f"ecs-svc/{uuid.uuid4().int % 10**19:019d}", "td": good["td"], "bad": None, "bad_reason": None,
            "since": time.time(), "rollback_to": None, "network": good.get("network") or d["network"],
        })

    def _stopped(self, d, reason, container):
        """A task of the deployment that stopped, kept listed as ECS keeps it."""
        cluster = (d.get("cluster") or "").rsplit("/", 1)[-1]
        d["stopped"].append({
            "taskArn": f"arn:aws:ecs:{d['region']}:{ACCOUNT}:task/{cluster}/{uuid.uuid4().hex}",
            "clusterArn": d.get("cluster"),
            "lastStatus": "STOPPED",
            "desiredStatus": "STOPPED",
            "stopCode": "TaskFailedToStart",
            # ECS marks a service's tasks with the deployment that started them.
            "startedBy": d.get("id"),
            "stoppedReason": reason,
            "stoppedAt": time.time(),
            "containers": [{"name": container, "lastStatus": "STOPPED", "reason": reason}],
        })
