"""nbgrader settings of every user pod (hub/k8s/values.yaml): the course id and nbexchange's plugin.

Pods on different nodes share no folder, so nbgrader's exchange is the
nbexchange service (hub/k8s/nbexchange_config.py), reached through the hub
with the pod's own JupyterHub token. COURSE_ID is set by values.yaml
(singleuser.extraEnv); COURSE_DIR by the hub for instructors only.
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.course_id = os.environ["COURSE_ID"]
if os.environ.get("COURSE_DIR"):
    c.CourseDirectory.root = os.environ["COURSE_DIR"]
c.ExchangeFactory.exchange = "nbexchange.plugin.Exchange"
c.ExchangeFactory.list = "nbexchange.plugin.ExchangeList"
c.ExchangeFactory.release_assignment = "nbexchange.plugin.ExchangeReleaseAssignment"
c.ExchangeFactory.fetch_assignment = "nbexchange.plugin.ExchangeFetchAssignment"
c.ExchangeFactory.submit = "nbexchange.plugin.ExchangeSubmit"
c.ExchangeFactory.collect = "nbexchange.plugin.ExchangeCollect"
c.ExchangeFactory.release_feedback = "nbexchange.plugin.ExchangeReleaseFeedback"
c.ExchangeFactory.fetch_feedback = "nbexchange.plugin.ExchangeFetchFeedback"
c.Exchange.path_includes_course = True
