// Simple Blender Render: render a frame range in chunks, then make a preview video.
//
// Bundled with Tablao. Compatible with Flamenco's job-type API, so a copy of this file
// can serve as the starting point for a custom job type in the Manager's scripts/ folder.

const JOB_TYPE = {
  label: "Simple Blender Render",
  description: "Render a sequence of frames, and create a preview video file",
  settings: [
    // Chosen by the artist when submitting.
    {
      key: "frames",
      type: "string",
      required: true,
      eval: "f'{C.scene.frame_start}-{C.scene.frame_end}'",
      evalInfo: { showLinkButton: true, description: "Scene frame range" },
      description: "Frames to render, for example '47', '1-30' or '3, 5-10, 47-327'",
    },
    {
      key: "chunk_size",
      type: "int32",
      default: 1,
      visible: "submission",
      description: "How many frames one render task renders",
    },

    // render_output_root and add_path_components together give render_output_path.
    {
      key: "render_output_root",
      type: "string",
      subtype: "dir_path",
      required: true,
      visible: "submission",
      description: "Folder under which the job's render output goes; job-specific parts are added to it",
    },
    {
      key: "add_path_components",
      type: "int32",
      required: true,
      default: 0,
      propargs: { min: 0, max: 32 },
      visible: "submission",
      description: "How many folder names of the blend file's path to repeat in the render output path",
    },
    {
      key: "render_output_path",
      type: "string",
      subtype: "file_path",
      editable: false,
      eval:
        "str(Path(abspath(settings.render_output_root), last_n_dir_parts(settings.add_path_components), " +
        "jobname, '{timestamp}', '######'))",
      description: "Where the frames are written; {timestamp} becomes the job's creation time",
    },

    // Filled in by the add-on from the blend file.
    { key: "blendfile", type: "string", required: true, visible: "web", description: "The blend file to render" },
    { key: "fps", type: "float", eval: "C.scene.render.fps / C.scene.render.fps_base", visible: "hidden" },
    {
      key: "format",
      type: "string",
      required: true,
      eval: "C.scene.render.image_settings.file_format",
      visible: "web",
    },
    {
      key: "image_file_extension",
      type: "string",
      required: true,
      eval: "C.scene.render.file_extension",
      visible: "hidden",
      description: "File name extension of the rendered images",
    },
    {
      key: "has_previews",
      type: "bool",
      eval: "C.scene.render.image_settings.use_preview",
      visible: "hidden",
      description: "Whether Blender also writes JPEG previews next to the frames",
    },
    {
      key: "scene",
      type: "string",
      required: true,
      eval: "C.scene.name",
      visible: "web",
      description: "Name of the scene to render",
    },
  ],
};

// Blender output formats that make a movie file instead of frames: out of scope here.
const MOVIE_FORMATS = ["FFMPEG", "AVI_RAW", "AVI_JPEG"];

// Formats FFmpeg cannot read; for these the preview video can only use Blender's JPEG previews.
const FORMATS_FFMPEG_CANNOT_READ = new Set(["EXR", "MULTILAYER", "OPEN_EXR", "OPEN_EXR_MULTILAYER"]);

// Run before rendering, so a re-run never overwrites frames and always writes extensions.
const RENDER_SETTINGS_EXPR =
  "import bpy; render = bpy.context.scene.render; " +
  "render.use_file_extension = True; render.use_overwrite = False; render.use_placeholder = False";

function compileJob(job) {
  const settings = job.settings;
  if (MOVIE_FORMATS.indexOf(settings.format) >= 0) {
    throw `Simple Blender Render makes image sequences; output format "${settings.format}" is a movie format`;
  }

  const renderOutput = expandOutputPath(job);
  // Store the path actually used, so the job shows where its frames went.
  settings.render_output_path = renderOutput;
  const renderDir = path.dirname(renderOutput);

  // Arguments shared by every render task; each task only adds its frames.
  const baseArgs = [];
  if (settings.scene) baseArgs.push("--scene", settings.scene);
  baseArgs.push(
    "--python-expr", RENDER_SETTINGS_EXPR,
    "--render-output", path.join(renderDir, path.basename(renderOutput)),
    "--render-format", settings.format,
  );
  const chunks = frameChunker(settings.frames, settings.chunk_size);
  const renderTasks = chunks.map((chunk) => renderTask(settings, chunk, baseArgs));
  for (const task of renderTasks) job.addTask(task);

  const videoTask = previewVideoTask(settings, chunks, renderDir);
  if (videoTask) {
    for (const task of renderTasks) videoTask.addDependency(task);
    job.addTask(videoTask);
  }
}

// Replace {timestamp} by the job's creation time; leave other {fields} (variables) alone.
function expandOutputPath(job) {
  const template = job.settings.render_output_path;
  if (!template) throw "the render_output_path setting is missing";
  return template.replace(/{([^}]+)}/g, (whole, field) =>
    field === "timestamp" ? formatTimestampLocal(job.created) : whole,
  );
}

function renderTask(settings, chunk, baseArgs) {
  const task = author.Task(`render-${chunk}`, "blender");
  const command = author.Command(
    "blender-render",
    {
      exe: "{blender}",
      exeArgs: "{blenderArgs}",
      argsBefore: [],
      blendfile: settings.blendfile,
      // Blender writes frame ranges as a..b; commas separate the parts of a chunk.
      args: baseArgs.concat(["--render-frame", chunk.replaceAll("-", "..")]),
    },
    frameCount(chunk),
  );
  task.addCommand(command);
  return task;
}

function previewVideoTask(settings, chunks, renderDir) {
  const onlyPreviewsReadable = FORMATS_FFMPEG_CANNOT_READ.has(settings.format);
  if (onlyPreviewsReadable && !settings.has_previews) {
    print(`no preview video: FFmpeg cannot read ${settings.format} and there are no JPEG previews`);
    return null;
  }
  if (!settings.fps) {
    print("no preview video: the frame rate is unknown");
    return null;
  }

  const firstFrame = chunks[0].split(/[-,]/)[0];
  const lastFrame = chunks[chunks.length - 1].split(/[-,]/).pop();
  const stem = path.stem(settings.blendfile).replace(".flamenco", "");
  const extension = onlyPreviewsReadable ? ".jpg" : settings.image_file_extension;

  const task = author.Task("preview-video", "ffmpeg");
  const command = author.Command("frames-to-video", {
    exe: "ffmpeg",
    fps: settings.fps,
    inputGlob: path.join(renderDir, `*${extension}`),
    outputFile: path.join(renderDir, `${stem}-${firstFrame}-${lastFrame}.mp4`),
    argsBefore: [],
    args: [
      "-c:v", "h264",
      "-crf", "20",
      "-g", "18",
      // H.264 needs even dimensions.
      "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
      "-pix_fmt", "yuv420p",
      "-r", String(settings.fps),
      "-y", // never let FFmpeg stop to ask about overwriting
    ],
  });
  task.addCommand(command);
  return task;
}
