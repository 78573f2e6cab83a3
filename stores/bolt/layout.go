package bolt

// Names in the file (see the package doc).
var (
	metaBucket     = []byte("$daemonflag")
	metaFormat     = []byte("format")
	metaGeneration = []byte("generation")
	metaSnapshot   = []byte("snapshot")
	metaChanges    = []byte("changes")
	// Format "2" files may hold membership blocks (segments_blocks.go); format "1"
	// files hold one membership per key, which format 2 also allows, so
	// this version reads both and writes "2".
	formatV1 = []byte("1")
	formatV2 = []byte("2")

	initedKey         = []byte("$inited")
	bigSegmentsBucket = []byte("big_segments")
	runsBucket        = []byte("big_segments_runs")
	syncOnKey         = []byte("big_segments_synchronized_on")
)
