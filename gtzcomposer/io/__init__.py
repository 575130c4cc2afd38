"""File formats: MIDI, MusicXML, the .gtzc project file and audio loading."""
