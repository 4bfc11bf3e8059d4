"""nbgrader configuration for the course (run nbgrader from this folder)."""

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.course_id = "logistic-softmax-pytorch"
# Instructor notebooks (with solutions and hidden tests) live in solutions/,
# the generated student version in notebooks/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# Training cells run on a CPU: allow a minute per cell, then score the cell 0.
c.Execute.timeout = 60
# A cell's stderr output is dropped only when *all* of it is one of these harmless
# messages (repeated), so nothing else written to stderr can hide behind them.
_HARMLESS = [
    r"Matplotlib is building the font cache[^\n]*\n",
    r"[^\n]*Matplotlib created a temporary cache directory[^\n]*\n(?:[^\n]*\n)?",
    r"[^\n]*UserWarning: Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
    r"behavior\.\nConsider using tensor\.detach\(\) first\.[^\n]*\n(?:  [^\n]*\n)?",
]
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\A(?:" + "|".join(_HARMLESS) + r")+\Z"
# A test cell a student deleted comes back from the gradebook at autograde.
c.OverwriteCells.add_missing_cells = True
# The notebook that runs is rebuilt from solutions/: every cell but the answers
# comes from the source, and each answer keeps only the definitions that the
# allowlist in instructor/course_grading/allowlist.py lets run (see the README).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "course_grading.preprocessors.RebuildFromSource",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "course_grading.preprocessors.MarkHiddenTests",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# The answers ran in a worker process (course_grading.boundary): afterwards each answer cell shows
# the student's own code again, for the feedback and formgrader.
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "course_grading.preprocessors.RestoreAnswers",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# nbgrader's own feedback pages follow make grade's rules: no hidden test and no value from one, text
# and images only (the autograded notebooks formgrader shows the instructor keep everything).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course_grading.preprocessors.SafeFeedback",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# The stub a student replaces says what to do when it is run as handed out.
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\n'
              'raise NotImplementedError("Write your answer here, in place of this line: the docstring above '
              'says what to compute and return.")',
}
# The student version carries no test machinery: nbval's output markers are removed first.
c.GenerateAssignment.preprocessors = [
    "course_grading.preprocessors.StripTestMarkers",
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.InstantiateTests",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearSolutions",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.CheckCellMetadata",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.SaveCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.CheckCellMetadata",
]
