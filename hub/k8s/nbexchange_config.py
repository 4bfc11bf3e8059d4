"""nbexchange's service config for the course (mounted into the exchange's pod by its own chart).

Who calls: the JupyterHub user whose token comes with the request (the hub
service ``nbexchange`` of values.yaml may read users and their groups). Their
role: Instructor for the hub group ``instructors``, Student for everyone else,
so that only instructors release, collect and return feedback.
"""

import os

from jupyterhub.services.auth import HubAuth
from nbexchange.handlers.auth.user_handler import BaseUserHandler

c = get_config()  # noqa: F821  (provided by nbexchange)


class CourseUserHandler(BaseUserHandler):
    """A hub user of the course, Instructor or Student by their hub groups."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.hub_auth = HubAuth()
        self.course_id = os.environ["COURSE_ID"]

    def get_current_user(self, request) -> dict | None:
        user = self.hub_auth.get_user(request)
        if not user:
            return None
        role = "Instructor" if "instructors" in user.get("groups", []) else "Student"
        return {"name": user["name"], "full_name": user["name"], "course_id": self.course_id,
                "course_title": "Logistic and softmax regression with PyTorch", "course_role": role, "org_id": 1}


c.NbExchange.user_plugin_class = CourseUserHandler
c.NbExchange.base_url = "/services/nbexchange"
c.NbExchange.base_storage_location = "/var/data/exchange/storage"
c.NbExchange.db_url = os.environ["NBEX_DB_URL"]
