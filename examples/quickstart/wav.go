package main

import (
	"bytes"
	"encoding/binary"
	"math"
)

// toneWAV returns a RIFF/WAVE file (PCM, 8 kHz, 16-bit, mono: the format
// of a telephone-quality voicemail) holding a tone of freq Hz for ms
// milliseconds.
func toneWAV(freq float64, ms int) []byte {
	const rate = 8000
	n := rate * ms / 1000
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))       // fmt chunk size
	w(uint16(1))        // PCM
	w(uint16(1))        // mono
	w(uint32(rate))     // sample rate
	w(uint32(rate * 2)) // byte rate
	w(uint16(2))        // block align
	w(uint16(16))       // bits per sample
	b.WriteString("data")
	w(uint32(2 * n))
	for i := 0; i < n; i++ {
		w(int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/rate)))
	}
	return b.Bytes()
}
