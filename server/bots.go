package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"sluice/plugins/functions"
)

// bots lists the bot signatures in force: IPs a detector statement flagged
// (through the bot_signatures sink), with when each expires and why.
func (s *Server) bots(w http.ResponseWriter, _ *http.Request) {
	sigs := functions.BotSignatures()
	if sigs == nil {
		sigs = []functions.BotSignature{}
	}
	writeJSON(w, http.StatusOK, sigs)
}

// unblock lifts the flag on one IP, or on all of them.
func (s *Server) unblock(w http.ResponseWriter, r *http.Request) {
	functions.ClearBotSignature(chi.URLParam(r, "ip"))
	w.WriteHeader(http.StatusNoContent)
}
