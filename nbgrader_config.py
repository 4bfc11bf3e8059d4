"""nbgrader configuration for the course (run nbgrader from this folder)."""

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.course_id = "logistic-softmax-pytorch"
# Instructor notebooks (with solutions and hidden tests) live in solutions/,
# the generated student version in notebooks/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# Training cells run on a CPU: allow a minute per cell, then score the cell 0.
c.Execute.timeout = 60
# Harmless warnings that would otherwise zero a test cell through stderr.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"Matplotlib is building the font cache|Matplotlib created a temporary cache directory"
# A test cell a student deleted comes back from the gradebook at autograde.
c.OverwriteCells.add_missing_cells = True
