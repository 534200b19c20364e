"""Cross-cutting helpers with no Qt: config, events, clocks, paths, processes."""
