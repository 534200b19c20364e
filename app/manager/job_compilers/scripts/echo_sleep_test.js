// Echo Sleep Test: a job that needs no Blender, for trying out a farm.
//
// Bundled with Tablao; compatible with Flamenco's job-type API.

const JOB_TYPE = {
  label: "Echo Sleep Test",
  description: "Log a message, then sleep a while; useful to check that workers pick up work",
  settings: [
    { key: "message", type: "string", required: true, description: "What the echo task writes to its log" },
    { key: "sleep_duration_seconds", type: "int32", default: 1, description: "How long each sleep task sleeps" },
    { key: "sleep_repeats", type: "int32", default: 1, description: "How many sleep tasks to make" },
  ],
};

function compileJob(job) {
  const settings = job.settings;

  const echo = author.Task("echo", "misc");
  echo.addCommand(author.Command("echo", { message: settings.message }));
  job.addTask(echo);

  for (let i = 0; i < settings.sleep_repeats; i++) {
    const sleep = author.Task("sleep", "misc");
    sleep.addCommand(author.Command("sleep", { duration_in_seconds: settings.sleep_duration_seconds }));
    // The sleeps all wait for the echo, but not for each other.
    sleep.addDependency(echo);
    job.addTask(sleep);
  }
}
