// Loaded into every test process (.taprc node-arg): a process warning such as
// MaxListenersExceededWarning fails the run instead of scrolling past.
process.on('warning', (warning) => {
  throw warning;
});
