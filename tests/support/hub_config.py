"""The course's hub config (hub/jupyterhub_config.py) with what a test on one machine changes.

Read by JupyterHub (`jupyterhub -f tests/support/hub_config.py`) in tests/test_hub.py:
every server runs as the hub's own account in a home folder of its own under
the test's temporary folder (no Unix accounts are made), logins take a shared
password, the test drives the hub through an admin service's token, and
every port is the test's.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821  (provided by JupyterHub)
load_subconfig(str(Path(__file__).resolve().parents[2] / "hub" / "jupyterhub_config.py"))  # noqa: F821

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = os.environ["HUB_TEST_HOMES"] + "/{username}"
c.Spawner.args.append("--ServerApp.allow_root=True")  # the hub's own account here is root
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = os.environ["HUB_TEST_PASSWORD"]
c.JupyterHub.hub_port = int(os.environ["HUB_TEST_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['HUB_TEST_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.auth_token = os.environ["HUB_TEST_PROXY_TOKEN"]
# Every process of the run carries the marker, so that the test can tell that none is left behind.
c.Spawner.environment = {"HUB_TEST_RUN": os.environ["HUB_TEST_RUN"]}
for service in c.JupyterHub.services:
    service["environment"] = {**service.get("environment", {}), "HUB_TEST_RUN": os.environ["HUB_TEST_RUN"]}
c.JupyterHub.services.append({"name": "semester-test", "api_token": os.environ["HUB_TEST_ADMIN_TOKEN"]})
c.JupyterHub.load_roles.append({"name": "admin", "services": ["semester-test"]})
