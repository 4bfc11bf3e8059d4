"""nbgrader settings of every server the course's hub starts (on JUPYTER_CONFIG_PATH after the role's).

The hub sets the variables: COURSE_ID from the course's own nbgrader_config.py,
COURSE_EXCHANGE the exchange folder every account shares; for instructors,
COURSE_DIR the course folder (Formgrader's, whatever the working directory). COURSE_STUDENT_ID is
set only where all servers run as one account (a test spawner): nbgrader then
cannot tell students apart by their Unix account, and takes the hub user instead.
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.course_id = os.environ["COURSE_ID"]
c.Exchange.root = os.environ.get("COURSE_EXCHANGE", "/srv/nbgrader/exchange")
if os.environ.get("COURSE_DIR"):
    c.CourseDirectory.root = os.environ["COURSE_DIR"]
if os.environ.get("COURSE_STUDENT_ID"):
    c.CourseDirectory.student_id = os.environ["COURSE_STUDENT_ID"]
