package nsinit

// OverlayChdir is the directory to chdir to before mounting the overlay
// when OverlayData returned rel: the common parent of the layers.
func OverlayChdir(lowers []string) string { return commonParent(lowers) }
