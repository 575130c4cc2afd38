"""Sound: soundfonts, the FluidSynth synth, the playback scheduler and MIDI ports."""
